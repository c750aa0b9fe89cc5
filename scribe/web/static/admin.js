// Admin page: users (create, disable/enable, reset a password, unlock after failed logins),
// API tokens and the audit log, all said in the page's language.
"use strict";
const msgBox = document.getElementById("admin-msg");
const say = (text) => { msgBox.textContent = text; };
const office = (o) => (o === "*" ? T.all_offices : o);
const word = (prefix, v) => T[prefix + v] || v;

function showError(id, e) {
  const box = document.getElementById(id);
  box.textContent = e.message;
  box.hidden = false;
}

async function act(fn, done, errId) {
  if (errId) document.getElementById(errId).hidden = true;
  try { await fn(); say(done); await loadAdmin(); } catch (e) { if (errId) showError(errId, e); else say(e.message); }
}

function userRow(u) {
  const who = u.display_name || u.username;
  const actions = el("div", { class: "actions" },
    u.id === PAGE.me_id ? null : el("button", { type: "button", class: "link toggle-active",
      onclick: () => act(() => api("PATCH", "/api/users/" + u.id, { active: !u.active }),
        fillText(u.active ? T.user_disabled : T.user_enabled, { user: who })) }, u.active ? T.disable : T.enable),
    el("button", { type: "button", class: "link reset-password", onclick: () => openReset(u) }, T.reset_password),
    el("button", { type: "button", class: "link unlock", onclick: () => unlock(u) }, T.unlock));
  return el("tr", { "data-user": u.username, class: u.active ? "" : "inactive" },
    el("td", {}, u.username), el("td", {}, u.display_name), el("td", {}, word("role_", u.role)),
    el("td", {}, office(u.office)), el("td", { class: "state" }, !u.active ? T.disabled
      : (u.locked_until ? fillText(T.locked_until, { at: fmtTime(u.locked_until) }) : T.active)), el("td", {}, actions));
}

async function unlock(u) {
  try {
    await api("POST", "/api/users/" + u.id + "/unlock");
    say(fillText(T.user_unlocked, { user: u.display_name || u.username }));
  } catch (e) {
    // a server without the per-account lockout has no such route
    say(e.status === 404 || e.status === 405 ? T.err_unlock_unavailable : e.message);
  }
}

let resetting = null;
const resetDialog = document.getElementById("reset-dialog");
function openReset(u) {
  resetting = u;
  document.getElementById("reset-user").textContent = u.display_name || u.username;
  document.getElementById("reset-pass").value = "";
  document.getElementById("reset-error").hidden = true;
  resetDialog.showModal();
}
document.getElementById("reset-cancel").addEventListener("click", () => resetDialog.close());
document.getElementById("reset-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const u = resetting;
  try {
    await api("PATCH", "/api/users/" + u.id, { password: document.getElementById("reset-pass").value });
    resetDialog.close();
    say(fillText(T.password_reset_done, { user: u.display_name || u.username }));
  } catch (e) { showError("reset-error", e); }
});

// "parties.0.gender" -> "当事人 1 性别"
const fieldPath = (path) => path.split(".").map((p) => (/^\d+$/.test(p) ? String(Number(p) + 1) : T["field_" + p] || p)).join(" ");

// "user:3:med_a" -> med_a; "token:1:city platform" -> 接口令牌 city platform
function actorText(actor) {
  if (actor === "anonymous") return T.anonymous;
  const [kind, , ...rest] = actor.split(":");
  if (kind === "user" && rest.length) return rest.join(":");
  if (kind === "token" && rest.length) return T.actor_token + " " + rest.join(":");
  return T["actor_" + actor] || actor;
}

function detailText(detail) {
  detail = detail || {};
  return Object.entries(detail).filter(([k, v]) =>
    // a party's internal id says nothing to a person: its place in the list does
    !(k === "party" && typeof v === "string" && "party_index" in detail)).map(([k, v]) => {
    let shown = v;
    if (v === null || v === undefined) shown = T.none_value;
    else if (k === "party_index" && typeof v === "number") shown = fillText(T.party_n, { n: v + 1 });
    else if (k === "via") shown = word("via_", v);
    else if (k === "notice" && /^(.*)-v(\d+)$/.test(String(v))) {
      const [, date, n] = String(v).match(/^(.*)-v(\d+)$/);
      shown = fillText(T.notice_version, { date, n });
    }
    else if (k === "page") shown = word("page_", v);
    else if (k === "kind") shown = word("doc_", v);
    else if (k === "file") shown = word("file_", v);
    else if (k === "step") shown = word("rec_", v);
    else if (k === "party" && typeof v === "number") shown = fillText(T.party_n, { n: v + 1 });
    else if (k === "field") shown = fieldPath(String(v));
    else if (k === "fields" && Array.isArray(v)) shown = v.map((f) => T["field_" + f] || f).join(T.sep_list);
    else if (k === "role") shown = word("role_", v);
    else if (k === "scopes" && Array.isArray(v)) shown = v.map((s) => word("scope_", s)).join(T.sep_list);
    else if (typeof v === "boolean") shown = v ? T.yes : T.no;
    else if (typeof v === "object") shown = JSON.stringify(v);
    return (T["detail_" + k] || k) + T.sep_kv + shown;
  }).join(T.sep_items);
}

async function loadAdmin() {
  const users = await api("GET", "/api/users");
  document.querySelector("#users tbody").replaceChildren(...users.map(userRow));
  const offices = [...new Set(users.map((u) => u.office).filter((o) => o !== "*"))];
  document.getElementById("offices").replaceChildren(...offices.map((o) => el("option", { value: o })));
  const tokens = await api("GET", "/api/tokens");
  document.querySelector("#tokens tbody").replaceChildren(...tokens.map((t) => el("tr", {},
    el("td", {}, t.name), el("td", {}, t.prefix + "…"), el("td", {}, t.scopes.map((s) => word("scope_", s)).join(T.sep_list)),
    el("td", {}, office(t.office)),
    el("td", {}, t.revoked_at ? T.revoked : el("button", { type: "button", class: "link",
      onclick: () => act(() => api("DELETE", "/api/tokens/" + t.id), T.revoked) }, T.revoke)))));
  const events = await api("GET", "/api/audit?limit=100");
  document.querySelector("#audit tbody").replaceChildren(...events.map((e) => el("tr", {},
    el("td", {}, fmtTime(e.at)), el("td", {}, actorText(e.actor)), el("td", {}, word("action_", e.action)),
    el("td", {}, word("object_", e.object_type) + " " + e.object_id), el("td", {}, detailText(e.detail)))));
}

document.getElementById("user-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const v = (id) => document.getElementById(id).value.trim();
  const body = { username: v("u-name"), display_name: v("u-display"), password: document.getElementById("u-pass").value,
    role: v("u-role"), office: v("u-office") };
  act(async () => { await api("POST", "/api/users", body); ev.target.reset(); },
    fillText(T.user_created, { user: body.display_name || body.username }), "user-error");
});
document.getElementById("token-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  document.getElementById("token-error").hidden = true;
  const scopes = [...document.querySelectorAll(".t-scope:checked")].map((c) => c.value);
  try {
    const t = await api("POST", "/api/tokens", { name: document.getElementById("t-name").value, office: document.getElementById("t-office").value, scopes });
    document.getElementById("new-token").textContent = t.token;
    document.getElementById("new-token-box").hidden = false;
    await loadAdmin();
  } catch (e) { showError("token-error", e); }
});
loadAdmin();
