// The review page: a draft's fields as a form with their evidence (click to hear it), missing
// fields marked, edits saved field by field, terms added, the category changed, the transcript
// corrected beside its original, approve/return, downloads and delivery status.
"use strict";
const H = PAGE.hearing;
const base = `/api/hearings/${H.id}`;
const $ = (id) => document.getElementById(id);
let doc = null;
let transcript = null;

const LABELS_ZH = {
  organisation: "人民调解委员会/单位", case_number: "编号", date: "日期", parties: "当事人", dispute_category: "纠纷类型",
  facts: "纠纷主要事实、争议事项", responsibility: "各方责任", terms: "协议条款", performance_manner: "履行方式",
  performance_place: "履行地点", performance_deadline: "履行期限", deadlines: "各项期限", copies: "份数",
  judicial_confirmation_deadline: "申请司法确认截止日", mediators: "人民调解员", recorder: "记录人", legal_bases: "法律依据",
  time: "时间", channel: "咨询方式", visitor: "咨询人", category: "咨询类别", question: "咨询事项", answer: "解答意见",
  outcome: "处理结果", staff: "接待人", satisfaction: "满意度", follow_up: "回访", place: "地点", matter: "事由",
  others: "其他参加人", turns: "记录正文", name: "姓名", gender: "性别", ethnicity: "民族", age: "年龄",
  occupation: "职业", phone: "联系方式", address: "住址", role: "身份", side: "方",
  result: "调解结果", reason: "原因", remedies: "告知诉讼、仲裁途径",
};
const label = (k) => (PAGE.lang === "en" ? k.replace(/_/g, " ") : LABELS_ZH[k] || k);

function msg(text, isError) { const m = $("review-msg"); m.textContent = text || ""; m.classList.toggle("error", !!isError); }

function play(ev) {
  const p = $("player");
  p.src = `${base}/audio?start=${Math.max(0, ev.start - 0.2).toFixed(2)}&end=${(ev.end + 0.2).toFixed(2)}`;
  p.play().catch(() => {});
  for (const n of document.querySelectorAll(".tseg.playing")) n.classList.remove("playing");
  if (ev.segment !== undefined && ev.segment !== null) {
    const n = document.querySelector(`.tseg[data-i="${ev.segment}"]`);
    if (n) { n.classList.add("playing"); n.scrollIntoView({ block: "center" }); }
  }
}

function evidenceBox(fv) {
  // notes are written in Chinese, with an English twin for the English page
  const note = (PAGE.lang === "en" && fv.note_en) || fv.note;
  if (!fv.evidence || !fv.evidence.length) return note ? el("div", { class: "evidence muted" }, note) : null;
  return el("div", { class: "evidence" }, T.evidence + "：",
    ...fv.evidence.map((e) => el("button", { type: "button", class: "ev", title: T.plays_audio, onclick: () => play(e) },
      `▶ ${fmtClock(e.start)} ${e.role || e.speaker || ""}${e.name || ""}：${e.quote}`)));
}
function fmtClock(s) { s = Math.floor(s || 0); return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0"); }

function leafInput(path, fv, name) {
  const empty = fv.value === null || fv.value === undefined || (Array.isArray(fv.value) && !fv.value.length);
  const v = empty ? "" : Array.isArray(fv.value) ? fv.value.join("、")
    : (typeof fv.value === "object" ? JSON.stringify(fv.value) : String(fv.value));
  const long = v.length > 40 || ["facts", "answer", "question", "responsibility"].includes(name) || path.startsWith("terms.");
  const isCategory = path === "dispute_category" || path === "category";
  let input;
  if (isCategory) {
    input = el("select", { "data-path": path }, el("option", { value: "" }, ""),
      ...PAGE.categories.map((c) => el("option", { value: c, selected: c === v }, c)));
  } else if (long) {
    input = el("textarea", { "data-path": path, rows: Math.min(6, Math.max(2, Math.ceil(v.length / 40))) });
    input.value = v;
  } else {
    // one person's name (记录人, 接待人): offered from the office's staff accounts
    input = el("input", { "data-path": path, value: v, list: STAFF_FIELDS.includes(path) ? "staff-names" : null });
  }
  input.disabled = !editable();
  input.addEventListener("change", () => saveField(path, input.value));
  return input;
}

function editable() { return doc && doc.status === "draft" || (doc && doc.status === "returned"); }

function fieldNode(path, fv, name, depth) {
  const missing = fv.source === "missing" || (doc.missing || []).includes(path);
  const box = el("div", { class: "field" + (missing ? " missing" : ""), "data-field": path },
    el("div", { class: "fname" }, label(name),
      el("span", { class: "badge " + fv.source }, missing ? T.missing : `${T.source}：${T["source_" + fv.source] || fv.source}`),
      fv.confidence ? el("span", { class: "badge" }, Math.round(fv.confidence * 100) + "%") : null));
  if (fv.items) {
    fv.items.forEach((it, i) => box.append(fieldNode(`${path}.${i}`, it, `${label(name)} ${i + 1}`, depth + 1)));
    if (!fv.items.length) box.append(leafInput(path, fv, name));
  } else if (fv.parts) {
    for (const [k, part] of Object.entries(fv.parts)) box.append(fieldNode(`${path}.${k}`, part, k, depth + 1));
  } else {
    box.append(leafInput(path, fv, name));
  }
  const ev = evidenceBox(fv);
  if (ev) box.append(ev);
  return box;
}

// -- list fields (mediators, terms, legal bases, outcome ...): one entry per line, saved as a list
const NAME_LISTS = ["mediators", "others", "outcome", "parties"]; // short names; others are sentences
const STAFF_FIELDS = ["mediators", "recorder", "staff"];
let staff = [];

function listItems(fv) {
  if (fv.items) return fv.items;
  if (Array.isArray(fv.value)) return fv.value.map((v) => ({ value: v, source: fv.source, evidence: [] }));
  return [];
}

function listNode(name, fv) {
  const items = listItems(fv);
  const missing = fv.source === "missing" || !items.length;
  const box = el("div", { class: "field list-field" + (missing ? " missing" : ""), "data-field": name, "data-list": name },
    el("div", { class: "fname" }, label(name),
      el("span", { class: "badge " + fv.source }, missing ? T.missing : `${T.source}：${T["source_" + fv.source] || fv.source}`)));
  const entries = el("ol", { class: "entries" });
  const values = () => [...entries.querySelectorAll("[data-entry]")].map((n) => n.value.trim()).filter(Boolean);
  const save = (list) => saveField(name, list);
  const names = NAME_LISTS.includes(name);
  const fixed = (doc.choices || {})[name];
  items.forEach((it, i) => {
    const text = it.value === null || it.value === undefined ? "" : String(it.value);
    const input = names ? el("input", { "data-entry": i, value: text, list: STAFF_FIELDS.includes(name) ? "staff-names" : null })
      : el("textarea", { "data-entry": i, rows: Math.min(4, Math.max(1, Math.ceil(text.length / 40))) });
    input.value = text;
    input.disabled = !editable();
    input.readOnly = !!fixed; // a closed list's entries are removed and picked, not typed
    input.addEventListener("change", () => save(values()));
    const row = el("li", { class: "entry", "data-field": `${name}.${i}` }, input);
    if (editable()) {
      row.append(el("button", { type: "button", class: "link remove-entry", title: T.remove, "aria-label": `${T.remove} ${text}`,
        onclick: () => save(values().filter((_, j) => j !== i)) }, "✕"));
    }
    const ev = evidenceBox(it);
    if (ev) row.append(ev);
    entries.append(row);
  });
  box.append(entries);
  if (!items.length) { const note = evidenceBox(fv); if (note) box.append(note); }
  if (editable() && name !== "terms") { // terms have their own box below (one sentence at a time)
    const add = el("div", { class: "entry-add" });
    if (fixed) { // a closed list (处理结果): pick only
      const pick = el("select", { "data-pick": name, "aria-label": T.add_entry },
        el("option", { value: "" }, `— ${T.add_entry} —`),
        ...fixed.filter((c) => !values().includes(c)).map((c) => el("option", { value: c }, c)));
      pick.addEventListener("change", () => { if (pick.value) save([...values(), pick.value]); });
      box.append(add);
      add.append(pick);
      return box;
    }
    if (STAFF_FIELDS.includes(name) && staff.length) {
      const pick = el("select", { "data-pick": name, "aria-label": T.pick_staff },
        el("option", { value: "" }, `— ${T.pick_staff} —`),
        ...staff.filter((p) => !values().includes(p.name)).map((p) => el("option", { value: p.name }, p.name)));
      pick.addEventListener("change", () => { if (pick.value) save([...values(), pick.value]); });
      add.append(pick);
    }
    const typed = el("input", { "data-new": name, placeholder: STAFF_FIELDS.includes(name) ? T.other_name : T.add_entry });
    const addTyped = () => { const extra = typed.value.trim(); if (extra) save([...values(), extra]); };
    typed.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); addTyped(); } });
    add.append(typed, el("button", { type: "button", "data-add": name, onclick: addTyped }, T.add_entry));
    box.append(add);
  }
  return box;
}

function render() {
  const form = $("fields");
  form.replaceChildren();
  if (!doc) { msg(T.no_draft); return; }
  const st = $("doc-status");
  st.textContent = T["state_" + (doc.status === "draft" ? "drafted" : doc.status)] || doc.status;
  st.className = "status status-" + (doc.status === "draft" ? "drafted" : doc.status);
  for (const [name, fv] of Object.entries(doc.fields)) {
    if (name === "turns") continue; // the record's body is the transcript on the right
    form.append((doc.list_fields || []).includes(name) ? listNode(name, fv) : fieldNode(name, fv, name, 0));
  }
  const probs = $("problems");
  probs.hidden = !(doc.problems || []).length && !(doc.warnings || []).length;
  const said = doc.problem_items && doc.problem_items.length ? doc.problem_items.map(problemText) : (doc.problems || []);
  probs.replaceChildren(...[...said, ...(doc.warnings || [])].map((p) => el("div", { class: "error" }, "⚠ " + p)));
  $("term-add").hidden = !("terms" in doc.fields) || !editable();
  renderCandidates();
  const dl = (kind) => `${base}/documents/${doc.id}/file/${kind}`;
  $("dl-docx").href = dl("docx"); $("dl-docx").hidden = false;
  $("dl-pdf").href = dl("pdf"); $("dl-pdf").hidden = false;
  if ($("approve")) { $("approve").hidden = doc.status !== "draft"; $("return").hidden = doc.status !== "draft"; }
  const deliv = $("delivery");
  deliv.hidden = !doc.deliveries.length;
  $("delivery-list").replaceChildren(...doc.deliveries.map(deliveryNode));
}

// -- delivery: where each message stands with each case system, and why ------------------------
function failureKind(d) {
  // what the raw error means for the reviewer; the raw text follows for the admin
  const code = d.last_status_code;
  if (code && code >= 400 && code < 500) return T.delivery_refused + " ";
  if (code && code >= 500) return T.delivery_their_error + " ";
  if ((d.last_error || "").startsWith("refused:")) return T.delivery_policy + " ";
  return code ? "" : T.delivery_unreachable + " ";
}

function deliveryReason(d) {
  if (d.status === "delivered") return `${T.delivery_delivered} ${d.delivered_at ? fmtTime(d.delivered_at) : ""}`;
  const parts = [];
  if (d.endpoint_enabled === false) parts.push(`${T.delivery_endpoint_disabled}${d.endpoint_disabled_reason ? "：" + d.endpoint_disabled_reason : ""}`);
  if (d.last_error) parts.push(`${T.delivery_last_error}：${failureKind(d)}${d.last_error}`);
  else if (!d.attempts) parts.push(T.delivery_not_tried);
  if (d.status === "failed") parts.push(T.delivery_gave_up);
  else if (d.next_attempt_at && d.endpoint_enabled !== false) parts.push(`${T.delivery_next_attempt} ${fmtTime(d.next_attempt_at)}`);
  return parts.join("；");
}

function deliveryNode(m) {
  const state = T["delivery_state_" + m.status] || m.status;
  const li = el("li", { class: "delivery-" + m.status, "data-status": m.status }, el("strong", {}, `${m.event}：${state}`));
  if (m.status === "unrouted") li.append(el("div", { class: "delivery-reason" }, T.delivery_unrouted));
  for (const d of m.deliveries) {
    li.append(el("div", { class: "delivery-reason", "data-endpoint": d.endpoint, "data-status": d.status },
      `${d.endpoint_name || d.endpoint}：${T["delivery_state_" + d.status] || d.status}（${T.delivery_attempts.replace("{n}", d.attempts)}）— ${deliveryReason(d)}`));
  }
  return li;
}

// Candidates: every amount, date, person and obligation the rules found, with what became of
// it; an obligation the rules left out is taken into the terms in one click, a date into the
// performance deadline, anything else into the new-term box to be worded.
function renderCandidates() {
  const box = $("candidates");
  const list = (doc.candidates || []).filter((c) => c.kind === "obligation" || c.status !== "used");
  box.hidden = !list.length;
  $("candidate-list").replaceChildren(...list.map((c) => {
    const li = el("li", { class: "candidate candidate-" + c.status, "data-kind": c.kind, "data-status": c.status },
      `[${T["cand_" + c.status] || c.status}] ${c.value}` + (c.reason ? ` (${c.reason})` : "") + " ");
    const ev = c.evidence || {};
    const at = el("a", { href: "#", class: "evidence" }, `${fmtClock(ev.start)} ${ev.role || ""}${ev.name || ""}：${ev.quote || ""}`);
    at.addEventListener("click", (e) => { e.preventDefault(); play({ start: ev.start, end: ev.end }); });
    li.append(at);
    if (editable() && c.status !== "used") {
      const b = el("button", { type: "button", class: "take" }, T.take);
      b.addEventListener("click", () => takeCandidate(c));
      li.append(b);
    }
    return li;
  }));
}

async function takeCandidate(c) {
  try {
    if (c.kind === "obligation" && "terms" in doc.fields) {
      doc = await api("POST", `${base}/documents/${doc.id}/terms`, { text: c.value });
    } else if (c.kind === "date" && "performance_deadline" in doc.fields) {
      const m = /(\d{4})年(\d{2})月(\d{2})日/.exec(c.value);
      doc = await api("PATCH", `${base}/documents/${doc.id}/fields`, { path: "performance_deadline", value: m ? `${m[1]}-${m[2]}-${m[3]}` : c.value });
    } else {
      $("new-term").value = ($("new-term").value + " " + c.value).trim();
      $("new-term").focus();
      return;
    }
    render();
    msg(T.saved);
  } catch (e) { msg(e.message, true); }
}

async function saveField(path, value) {
  try {
    doc = await api("PATCH", `${base}/documents/${doc.id}/fields`, { path, value });
    render();
    msg(T.saved);
  } catch (e) { msg(e.message, true); }
}

$("add-term").addEventListener("click", async () => {
  const text = $("new-term").value.trim();
  if (!text) return;
  try {
    doc = await api("POST", `${base}/documents/${doc.id}/terms`, { text });
    $("new-term").value = "";
    render();
  } catch (e) { msg(e.message, true); }
});

$("make-draft").addEventListener("click", async () => {
  msg("…");
  try {
    doc = await api("POST", `${base}/documents`, { template: $("template-choice").value });
    render();
    msg(T.saved);
  } catch (e) { msg(e.message, true); }
});

if ($("approve")) {
  $("approve").addEventListener("click", async () => {
    const open = (doc.missing || []).length + (doc.problems || []).length;
    if (open && !confirm(T.approve_missing.replace("{n}", open))) return;
    $("approve").disabled = true;
    msg("…");
    try { doc = await api("POST", `${base}/documents/${doc.id}/approve`); render(); msg(T.state_approved); pollDelivery(); }
    catch (e) { msg(e.message, true); }
    finally { $("approve").disabled = false; }
  });
  $("return").addEventListener("click", async () => {
    const note = prompt(T.return_reason);
    if (!note) return;
    try { doc = await api("POST", `${base}/documents/${doc.id}/return`, { note }); render(); }
    catch (e) { msg(e.message, true); }
  });
}

async function pollDelivery() {
  for (let i = 0; i < 60 && doc && doc.status === "approved"; i++) {
    doc = await api("GET", `${base}/documents/${doc.id}`);
    render();
    if (doc.deliveries.length && doc.deliveries.every((m) => m.status === "delivered")) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// -- transcript with corrections --------------------------------------------------------------
function renderTranscript() {
  const box = $("transcript-review");
  const segs = (transcript && transcript.segments) || [];
  const corr = (transcript && transcript.corrections) || {};
  const spk = (transcript && transcript.speakers) || {};
  box.replaceChildren(...segs.map((s, i) => {
    const c = corr[String(i)];
    const who = spk[s.speaker] ? (T["role_" + spk[s.speaker].role] || spk[s.speaker].role) + (spk[s.speaker].name || "") : (s.speaker || "");
    const text = el("span", { class: "ttext", contenteditable: "true", "data-i": i }, c ? c.text : s.text);
    text.addEventListener("blur", async () => {
      const now = text.textContent.trim();
      if (now === (c ? c.text : s.text)) return;
      try { await api("PUT", `${base}/transcript/segments/${i}`, { text: now }); await loadTranscript(); msg(T.saved); }
      catch (e) { msg(e.message, true); }
    });
    // speech no decode recognised: marked until staff type what was said
    const lost = s.unrecognised && !c;
    return el("div", { class: "tseg" + (lost ? " unrecognised" : ""), "data-i": i },
      el("button", { type: "button", class: "link", onclick: () => play({ ...s, segment: i }) }, `▶ ${fmtClock(s.start)} ${who}`), " ",
      text, lost ? el("span", { class: "lost-note" }, T.unrecognised) : null,
      c ? el("span", { class: "orig" }, `${T.original}：${c.original}`) : null);
  }));
}

async function loadTranscript() {
  try { transcript = await api("GET", `${base}/transcript`); } catch (e) { transcript = null; }
  renderTranscript();
}

async function loadStaff() {
  try { staff = await api("GET", `${base}/staff`); } catch (e) { staff = []; }
  $("staff-names").replaceChildren(...staff.map((p) => el("option", { value: p.name })));
}

async function load() {
  await loadStaff();
  const docs = await api("GET", `${base}/documents`);
  doc = docs.length ? docs[docs.length - 1] : null;
  render();
  loadTranscript();
}
load();
