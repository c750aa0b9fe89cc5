"use strict";
async function loadAdmin() {
  const users = await api("GET", "/api/users");
  const ub = document.querySelector("#users tbody");
  ub.replaceChildren(...users.map((u) => el("tr", {}, el("td", {}, u.username), el("td", {}, u.role), el("td", {}, u.office),
    el("td", {}, u.active ? "" : "disabled"))));
  const tokens = await api("GET", "/api/tokens");
  const tb = document.querySelector("#tokens tbody");
  tb.replaceChildren(...tokens.map((t) => el("tr", {}, el("td", {}, t.name), el("td", {}, t.prefix + "…"),
    el("td", {}, t.scopes.join(" ")), el("td", {}, t.office),
    el("td", {}, t.revoked_at ? "revoked" : el("button", { class: "link", onclick: async () => { await api("DELETE", "/api/tokens/" + t.id); loadAdmin(); } }, T.remove)))));
  const events = await api("GET", "/api/audit?limit=100");
  const ab = document.querySelector("#audit tbody");
  ab.replaceChildren(...events.map((e) => el("tr", {}, el("td", {}, fmtTime(e.at)), el("td", {}, e.actor), el("td", {}, e.action),
    el("td", {}, e.object_type + " " + e.object_id), el("td", {}, JSON.stringify(e.detail)))));
}
document.getElementById("user-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const v = (id) => document.getElementById(id).value.trim();
  try {
    await api("POST", "/api/users", { username: v("u-name"), password: document.getElementById("u-pass").value, role: v("u-role"), office: v("u-office") });
    ev.target.reset(); loadAdmin();
  } catch (e) { alert(e.message); }
});
document.getElementById("token-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const scopes = [...document.querySelectorAll(".t-scope:checked")].map((c) => c.value);
  try {
    const t = await api("POST", "/api/tokens", { name: document.getElementById("t-name").value, office: document.getElementById("t-office").value, scopes });
    const box = document.getElementById("new-token");
    box.textContent = t.token; box.hidden = false;
    loadAdmin();
  } catch (e) { alert(e.message); }
});
loadAdmin();
