"use strict";
const partiesBox = document.getElementById("parties");
const rowTpl = document.getElementById("party-row");

function addParty(role) {
  const row = rowTpl.content.firstElementChild.cloneNode(true);
  if (role) row.querySelector(".party-role").value = role;
  row.querySelector(".remove-party").addEventListener("click", () => row.remove());
  partiesBox.append(row);
}

function defaultParties() {
  partiesBox.innerHTML = "";
  if (document.getElementById("kind").value === "consultation") addParty("visitor");
  else { addParty("applicant"); addParty("respondent"); }
}

document.getElementById("kind").addEventListener("change", defaultParties);
document.getElementById("add-party").addEventListener("click", () => addParty("other"));
defaultParties();

document.getElementById("new-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const errBox = document.getElementById("form-error");
  errBox.hidden = true;
  const val = (id) => document.getElementById(id).value.trim();
  const parties = [...partiesBox.querySelectorAll(".party-row")].map((r) => ({
    role: r.querySelector(".party-role").value,
    name: r.querySelector(".party-name").value.trim(),
  }));
  const body = {
    kind: val("kind"), case_number: val("case_number"), title: val("title"), place: val("place"),
    category: val("category"), language: val("language"), parties,
    hotwords: val("hotwords").split(/[\s,，、;；]+/).filter(Boolean),
  };
  if (val("hearing_date")) body.hearing_date = val("hearing_date");
  try {
    const h = await api("POST", "/api/hearings", body);
    location.href = "/hearings/" + h.id;
  } catch (e) {
    errBox.textContent = e.message;
    errBox.hidden = false;
  }
});
