// Shared by every page: the page's data, the translated words, and a fetch wrapper that sends
// the CSRF token on unsafe requests and turns error bodies into thrown Errors.
"use strict";
const PAGE = JSON.parse(document.getElementById("page-data").textContent);
const T = PAGE.t;

async function api(method, url, body) {
  const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET" && PAGE.csrf) opts.headers["X-CSRF-Token"] = PAGE.csrf;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(url, opts);
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const msg = data && data.error ? data.error + (data.fix ? " — " + data.fix : "") : res.status + "";
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return data;
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
