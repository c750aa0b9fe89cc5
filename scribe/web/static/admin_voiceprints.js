"use strict";
// The admin page's voiceprints (admin_voiceprints.html): /api/voiceprints.
const TV = JSON.parse(document.getElementById("admin-privacy-words").textContent);

async function loadVoiceprints() {
  const vps = await api("GET", "/api/voiceprints");
  const body = document.querySelector("#voiceprints tbody");
  if (!vps.length) {
    body.replaceChildren(el("tr", {}, el("td", {}, TV.vp_none)));
    return;
  }
  body.replaceChildren(...vps.map((v) => el("tr", { "data-id": v.id },
    el("td", {}, v.name), el("td", {}, v.role || ""), el("td", {}, v.office || TV.vp_every_office),
    el("td", {}, fmtTime(v.consent_given_at) + " / " + v.consent_confirmed_by),
    el("td", {}, el("button", { type: "button", class: "link vp-delete", onclick: async () => {
      if (!confirm(TV.vp_delete_confirm)) return;
      try { await api("DELETE", "/api/voiceprints/" + v.id); loadVoiceprints(); } catch (e) { alert(e.message); }
    } }, TV.vp_delete)))));
}
loadVoiceprints();
