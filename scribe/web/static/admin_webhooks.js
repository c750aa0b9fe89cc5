"use strict";
// The admin page's webhook endpoints (admin_webhooks.html): /api/endpoints.
const TW = JSON.parse(document.getElementById("admin-privacy-words").textContent);

function twFmt(key, params) {
  return (TW[key] || key).replace(/\{(\w+)\}/g, (_, k) => String(params[k]));
}

function reasonText(code) {
  return TW["reason_" + code] || TW.reason_other;
}

function endpointState(ep) {
  if (ep.revoked_at) return TW.ep_revoked;
  let s = ep.enabled ? TW.ep_enabled : TW.ep_disabled;
  if (ep.rotating_until) s += " · " + TW.ep_rotating + " " + fmtTime(ep.rotating_until);
  if (ep.failures_24h) s += " · " + twFmt("ep_failures_24h", { n: ep.failures_24h });
  return s;
}

function showSecret(secret) {
  const box = document.getElementById("ep-secret");
  box.textContent = TW.ep_secret_once + secret;
  box.hidden = false;
}

function showResult(text) {
  const box = document.getElementById("ep-result");
  box.textContent = text;
  box.hidden = false;
}

async function showFailures(ep) {
  const rows = await api("GET", "/api/endpoints/" + ep.id + "/failures?limit=20");
  const box = document.getElementById("ep-failures");
  box.querySelector("h3").textContent = TW.ep_failures + " · " + ep.name;
  const body = box.querySelector("tbody");
  if (!rows.length) {
    body.replaceChildren(el("tr", {}, el("td", {}, TW.ep_no_failures)));
  } else {
    body.replaceChildren(...rows.map((f) => el("tr", { class: "ep-failure" },
      el("td", {}, fmtTime(f.attempted_at)),
      el("td", {}, TW["ev_" + f.event_type] || f.event_type || ""),
      el("td", { class: "reason" }, reasonText(f.reason) + (f.status_code ? " (HTTP " + f.status_code + ")" : "")),
      el("td", { class: "mono" }, f.error || ""),
      el("td", {}, f.delivery_status === "pending" && f.next_attempt_at ? TW.ep_next + " " + fmtTime(f.next_attempt_at)
        : (f.delivery_status === "failed" ? TW.ep_given_up : "")))));
  }
  box.hidden = false;
}

function endpointActions(ep) {
  if (ep.revoked_at) return el("td", {});
  const act = (label, cls, fn) => el("button", { type: "button", class: "link " + cls, onclick: async () => {
    try { await fn(); } catch (e) { alert(e.message); }
  } }, label);
  return el("td", { class: "actions" },
    act(TW.ep_test, "ep-test", async () => {
      const r = await api("POST", "/api/endpoints/" + ep.id + "/test");
      showResult(r.ok ? twFmt("ep_test_ok", { code: r.status_code, ms: Math.round(r.latency_ms || 0) })
        : TW.ep_test_failed + reasonText(r.reason) + (r.error ? " · " + r.error : ""));
    }), " ",
    act(TW.ep_rotate, "ep-rotate", async () => {
      const r = await api("POST", "/api/endpoints/" + ep.id + "/rotate");
      showSecret(r.secret); loadEndpoints();
    }), " ",
    act(TW.ep_failures, "ep-failures", () => showFailures(ep)), " ",
    act(TW.ep_revoke, "ep-revoke", async () => {
      if (!confirm(TW.ep_revoke_confirm)) return;
      await api("DELETE", "/api/endpoints/" + ep.id); loadEndpoints();
    }));
}

async function loadEndpoints() {
  const eps = await api("GET", "/api/endpoints");
  const body = document.querySelector("#endpoints tbody");
  body.replaceChildren(...eps.map((ep) => el("tr", { "data-id": ep.id },
    el("td", {}, ep.name), el("td", { class: "mono" }, ep.url),
    el("td", {}, ep.event_types.map((e) => TW["ev_" + e] || e).join("、")),
    el("td", {}, (ep.offices.includes("*") ? TW.ep_all_offices : ep.offices.join("、")) + (ep.include_transcript ? " · " + TW.ep_transcript : "")),
    el("td", { class: "state" }, endpointState(ep)),
    endpointActions(ep))));
}

document.getElementById("endpoint-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const v = (id) => document.getElementById(id).value.trim();
  const offices = v("ep-offices").split(/[,，、\s]+/).filter(Boolean);
  const events = [...document.querySelectorAll(".ep-event:checked")].map((c) => c.value);
  try {
    const r = await api("POST", "/api/endpoints", { name: v("ep-name"), url: v("ep-url"), offices,
      event_types: events, include_transcript: document.getElementById("ep-transcript").checked });
    showSecret(r.secret);
    ev.target.reset();
    loadEndpoints();
  } catch (e) { alert(e.message); }
});
loadEndpoints();
