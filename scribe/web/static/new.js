// Case intake: every party's details, who an agent or relative speaks for, and the staff
// picked from the office's accounts. The server checks the same rules (scribe/web/intake.py);
// the page checks what it can first and says every problem in words (problemText).
"use strict";
const partiesBox = document.getElementById("parties");
const staffBox = document.getElementById("staff");
const partyTpl = document.getElementById("party-row");
const staffTpl = document.getElementById("staff-row");
const kindSel = document.getElementById("kind");
const SPEAKS_FOR = ["agent", "relative"];
const PRINCIPALS = ["applicant", "respondent", "third_party", "visitor"];
let officeStaff = [];
let nextKey = 1;

const isConsultation = () => kindSel.value === "consultation";
const rows = () => [...partiesBox.querySelectorAll(".party")];

function partyLabel(row, i) {
  const role = T["role_" + row.querySelector(".p-role").value];
  const name = row.querySelector(".p-name").value.trim();
  return name ? role + " " + name : role + fillText(T.party_n, { n: i + 1 });
}

// the represents pickers list the current principal parties (kept by row key, not position)
function refreshRepresents() {
  const all = rows();
  for (const row of all) {
    const speaks = SPEAKS_FOR.includes(row.querySelector(".p-role").value);
    row.querySelector(".represents").hidden = !speaks;
    const sel = row.querySelector(".p-represents");
    const keep = sel.value;
    sel.replaceChildren(el("option", { value: "" }, T.pick_party),
      ...all.map((r, i) => [r, i]).filter(([r]) => r !== row && PRINCIPALS.includes(r.querySelector(".p-role").value))
        .map(([r, i]) => el("option", { value: r.dataset.key }, partyLabel(r, i))));
    sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "";
  }
}

function applyKind() {
  const consult = isConsultation();
  for (const n of document.querySelectorAll(".consult-only")) n.hidden = !consult;
  for (const row of rows()) {
    const declined = consult && row.querySelector(".p-declined").checked;
    for (const input of row.querySelectorAll("input:not(.p-declined), select:not(.p-role)")) {
      if (!input.classList.contains("p-represents")) input.disabled = declined;
    }
    const full = !consult && ["applicant", "respondent", "third_party"].includes(row.querySelector(".p-role").value);
    for (const mark of row.querySelectorAll(".need-full")) mark.hidden = !full;
  }
}

function addParty(role, represents) {
  const row = partyTpl.content.firstElementChild.cloneNode(true);
  row.dataset.key = String(nextKey++);
  row.querySelector(".p-role").value = role;
  row.querySelector(".remove-party").addEventListener("click", () => { row.remove(); refreshRepresents(); });
  row.addEventListener("change", () => { refreshRepresents(); applyKind(); });
  row.querySelector(".p-name").addEventListener("input", refreshRepresents);
  partiesBox.append(row);
  refreshRepresents();
  if (represents) row.querySelector(".p-represents").value = represents.dataset.key;
  applyKind();
  return row;
}

function defaultParties() {
  partiesBox.innerHTML = "";
  if (isConsultation()) addParty("visitor");
  else { addParty("applicant"); addParty("respondent"); }
  for (const s of staffBox.querySelectorAll(".s-role")) {
    if (isConsultation() && s.value === "mediator") s.value = "staff";
    if (!isConsultation() && s.value === "staff") s.value = "mediator";
  }
}

function addStaff(role, userId) {
  const row = staffTpl.content.firstElementChild.cloneNode(true);
  row.querySelector(".s-role").value = role;
  const pick = row.querySelector(".s-user");
  pick.replaceChildren(el("option", { value: "" }, ""),
    ...officeStaff.map((u) => el("option", { value: String(u.user_id) }, fillText(T.staff_option, { name: u.name, role: T["role_" + u.role] || u.role }))),
    el("option", { value: "typed" }, T.staff_typed));
  if (userId) pick.value = String(userId);
  pick.addEventListener("change", () => { row.querySelector(".s-typed").hidden = pick.value !== "typed"; });
  row.querySelector(".remove-staff").addEventListener("click", () => row.remove());
  staffBox.append(row);
  return row;
}

kindSel.addEventListener("change", () => { defaultParties(); applyKind(); });
document.getElementById("add-party").addEventListener("click", () => addParty(isConsultation() ? "other" : "third_party"));
document.getElementById("add-agent").addEventListener("click", () => addParty("agent", rows()[0]));
document.getElementById("add-relative").addEventListener("click", () => addParty("relative", rows()[0]));
document.getElementById("add-staff").addEventListener("click", () => addStaff("recorder"));
defaultParties();

(async () => {
  try { officeStaff = await api("GET", "/api/staff"); } catch (_e) { officeStaff = []; }
  // the mediator at the desk is, by default, the one logged in
  const me = PAGE.me && officeStaff.find((u) => u.user_id === PAGE.me.user_id);
  addStaff(isConsultation() ? "staff" : "mediator", me ? me.user_id : null);
})();

function readParties() {
  const all = rows();
  const keys = all.map((r) => r.dataset.key);
  return all.map((r) => {
    const v = (cls) => r.querySelector(cls).value.trim();
    const age = v(".p-age");
    const rep = v(".p-represents");
    const declined = isConsultation() && r.querySelector(".p-declined").checked;
    const p = {
      role: v(".p-role"), name: v(".p-name"), gender: v(".p-gender"), ethnicity: v(".p-ethnicity"),
      birth_date: v(".p-birth") || null, age: age === "" ? null : Number(age), occupation: v(".p-occupation"),
      id_type: v(".p-idtype"), id_number: v(".p-idnumber"), address: v(".p-address"), phone: v(".p-phone"),
      represents: SPEAKS_FOR.includes(v(".p-role")) && rep ? keys.indexOf(rep) : null,
      identity_declined: declined,
    };
    if (declined) Object.assign(p, { gender: "", ethnicity: "", birth_date: null, age: null, occupation: "", id_number: "", address: "", phone: "" });
    return p;
  });
}

function readStaff() {
  return [...staffBox.querySelectorAll(".staff-row")].map((r) => {
    const pick = r.querySelector(".s-user").value;
    if (!pick) return null;
    const role = r.querySelector(".s-role").value;
    return pick === "typed" ? { role, name: r.querySelector(".s-name").value.trim() } : { role, user_id: Number(pick) };
  }).filter(Boolean);
}

// what the agreement needs of a mediation's parties: a name and a gender, an age or birth date
function pageProblems(parties) {
  const out = [];
  parties.forEach((p, i) => {
    const say = (field, kind) => out.push({ party: i, role: p.role, name: p.name, field, kind });
    if (!p.name && !p.identity_declined) say("name", "missing");
    if (SPEAKS_FOR.includes(p.role) && p.represents === null) say("represents", "missing");
    if (!isConsultation() && ["applicant", "respondent", "third_party"].includes(p.role)) {
      if (!p.gender) say("gender", "missing");
      if (p.age === null && !p.birth_date && !(p.id_type === "居民身份证" && p.id_number.length === 18)) say("age", "missing");
    }
  });
  return out;
}

function showProblems(box, problems) {
  box.replaceChildren(...problems.map((p) => el("div", { class: "problem" }, problemText(p))));
  box.hidden = false;
  // mark the inputs named
  for (const p of problems) {
    if (p.party === undefined) continue;
    const row = rows()[p.party];
    const input = row && row.querySelector(`[data-field="${p.field}"]`);
    if (input) input.classList.add("invalid");
  }
}

document.getElementById("new-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const errBox = document.getElementById("form-error");
  errBox.hidden = true;
  for (const n of document.querySelectorAll(".invalid")) n.classList.remove("invalid");
  const val = (id) => document.getElementById(id).value.trim();
  const parties = readParties();
  const problems = pageProblems(parties);
  if (problems.length) { showProblems(errBox, problems); return; }
  const body = {
    kind: val("kind"), case_number: val("case_number"), title: val("title"), place: val("place"),
    category: val("category"), language: val("language"), parties, staff: readStaff(),
    hotwords: val("hotwords").split(/[\s,，、;；]+/).filter(Boolean),
  };
  if (val("hearing_date")) body.hearing_date = val("hearing_date");
  const button = document.getElementById("create");
  button.disabled = true;
  try {
    const h = await api("POST", "/api/hearings", body);
    location.href = "/hearings/" + h.id;
  } catch (e) {
    if (e.code === "invalid") showProblems(errBox, e.params.problems || []);
    else { errBox.textContent = e.message; errBox.hidden = false; }
  } finally {
    button.disabled = false;
  }
});
