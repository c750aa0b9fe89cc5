// Shared by every page: the page's data, the translated words, and a fetch wrapper that sends
// the CSRF token on unsafe requests and turns error bodies into thrown Errors.
"use strict";
const PAGE = JSON.parse(document.getElementById("page-data").textContent);
const T = PAGE.t;

async function api(method, url, body, retried) {
  const opts = { method, headers: { Accept: "application/json", "X-Page-Lang": PAGE.lang || "zh" }, credentials: "same-origin" };
  if (method !== "GET" && PAGE.csrf) opts.headers["X-CSRF-Token"] = PAGE.csrf;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(url, opts);
  if (res.status === 403 && method !== "GET" && !retried && await freshCsrf()) {
    // a new login (in another window, after this one's ended) comes with a new CSRF token:
    // the page keeps working, and what it holds (a desk's buffered audio) is not lost to a reload
    return api(method, url, body, true);
  }
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const err = new Error(errorText(data, res.status));
    err.status = res.status;
    err.code = data && data.code;
    err.params = (data && data.params) || {};
    throw err;
  }
  return data;
}

async function freshCsrf() {
  try {
    const r = await fetch("/api/auth/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) return false;
    const me = await r.json();
    if (!me.csrf_token || me.csrf_token === PAGE.csrf) return false;
    PAGE.csrf = me.csrf_token;
    return true;
  } catch (e) {
    return false;
  }
}

// The message catalogue (scribe/web/messages.py) says an error from its code and params in the
// page's language; the server's English `error` is never shown.
function fillText(tpl, params) {
  return tpl.replace(/\{(\w+)(?:@(\w+))?\}/g, (_m, key, prefix) => {
    const v = params[key] === undefined || params[key] === null ? "" : String(params[key]);
    return prefix ? (T[prefix + v] || v) : v;
  });
}

// fieldWords: "docfield_" on the review page, where a field is named as its document prints it
function problemText(p, fieldWords = "field_") {
  if (p.kind === "bad_json") return T.err_bad_json;
  const field = T[fieldWords + p.field] || T["field_" + p.field] || p.field;
  const text = fillText(T["problem_" + p.kind] || T.problem_invalid, { ...p, field });
  let who = "";
  for (const key of ["party", "staff"]) {
    if (p[key] === undefined) continue;
    const role = p.role_label || T["role_" + p.role] || T["field_" + (key === "party" ? "parties" : "staff")];
    const n = PAGE.lang === "en" ? "#" + (p[key] + 1) : "（第" + (p[key] + 1) + "位）";
    who = p.name ? role + " " + p.name : role + n;
  }
  if (!who) return text;
  return PAGE.lang === "en" ? who + ": " + text : who + "：" + text;
}

const GENERIC_CODES = new Set(["error", "session", "document", "account", "delivery", "audio", "model", "config", "output"]);

function errorText(data, status) {
  const code = data && data.code;
  const params = (data && data.params) || {};
  if (code === "invalid") return (params.problems || []).map(problemText).join(PAGE.lang === "en" ? "; " : "；");
  // a whole class's code has only a generic sentence; the server's message (in this page's
  // language) may say more, e.g. which date could not be read
  if (GENERIC_CODES.has(code) && data.message) return data.message;
  const tpl = T["err_" + code] || T["err_http_" + status] || T.err_error;
  return fillText(tpl, params);
}

// A live WebSocket event's warning or error (scribe/live, docs/events.md) from its code and
// details, through the same catalogue (live_<code> in scribe/web/messages.py LIVE); a refusal
// that names its reason (consent_missing with the names, ...) says that reason's message.
function liveText(ev) {
  if (ev.reason && ev.reason !== "error" && (T["err_" + ev.reason] || ev.reason === "invalid")) {
    return errorText({ code: ev.reason, params: ev.params || {} }, 409);
  }
  const key = ev.code === "degraded" ? "live_degraded_" + (ev.level || 0) : "live_" + ev.code;
  const tpl = T[key] || (ev.type === "error" ? T.live_error : T.live_warning);
  return fillText(tpl, ev);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    // through the CSSOM: the page's CSP forbids style attributes in markup
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function fmtTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(PAGE.lang === "en" ? "en-GB" : "zh-CN", { hour12: false });
}

const logoutBtn = document.getElementById("logout");
if (logoutBtn) {
  logoutBtn.addEventListener("click", async () => {
    try { await api("POST", "/api/auth/logout"); } finally { location.href = "/login"; }
  });
}
