// The review page: a draft's fields as a form with their evidence (click to hear it), missing
// fields marked, edits saved field by field, terms added, the category changed; the rendered
// document page by page; earlier drafts listed; approve/return, downloads and delivery status.
// The transcript editor (click a word to play from it, keyboard control, find and replace,
// speakers, split/merge) is in the second half.
"use strict";
const H = PAGE.hearing;
const base = `/api/hearings/${H.id}`;
const $ = (id) => document.getElementById(id);
let doc = null;
let lastField = null; // the field the reviewer was last in: a candidate goes there in one click

// a field's name, in the page's language, from the one catalogue (scribe/web/messages.py:
// FIELDS, with DOCUMENT_FIELDS where a document prints it otherwise, e.g. 编号)
const label = (k) => T["docfield_" + k] || T["field_" + k] || k;

function msg(text, isError) { const m = $("review-msg"); m.textContent = text || ""; m.classList.toggle("error", !!isError); }

function play(ev) { playSpan(ev.start, ev.end); }

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
  input.addEventListener("focus", () => { lastField = { path, input }; });
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
  renderOpenItems();
  $("term-add").hidden = !("terms" in doc.fields) || !editable();
  renderCandidates();
  const dl = (kind) => `${base}/documents/${doc.id}/file/${kind}`;
  $("dl-docx").href = dl("docx"); $("dl-docx").hidden = false;
  $("dl-pdf").href = dl("pdf"); $("dl-pdf").hidden = false;
  if ($("approve")) { $("approve").hidden = doc.status !== "draft"; $("return").hidden = doc.status !== "draft"; }
  const deliv = $("delivery");
  deliv.hidden = !doc.deliveries.length;
  $("delivery-list").replaceChildren(...doc.deliveries.map(deliveryNode));
  $("doc-version").textContent = T.version_n.replace("{n}", doc.version);
  loadVersions();
  schedulePages();
}

// -- what is still open: one list, shown on the page and counted by the approval dialog -------
function fieldLabel(path) {
  return path.split(".").map((p) => (/^\d+$/.test(p) ? String(Number(p) + 1) : label(p))).join(" · ");
}

function openItems() {
  const items = [];
  for (const path of doc.missing || []) items.push({ kind: "missing", path, text: `${T.missing}：${fieldLabel(path)}` });
  // a schema problem about a field already listed as missing is that same item, listed once
  const missing = new Set(doc.missing || []);
  // the same problems said in words (problem_items: the catalogue's kinds, in the same order)
  const said = doc.problem_items && doc.problem_items.length === (doc.problems || []).length ? doc.problem_items : null;
  (doc.problems || []).forEach((p, i) => {
    const at = p.split(":")[0].trim();
    if (!missing.has(at)) items.push({ kind: "problem", text: said ? problemText(said[i], "docfield_") : p });
  });
  for (const w of doc.warnings || []) items.push({ kind: "warning", text: w });
  return items;
}

function openNode(it) {
  const li = el("li", { class: "open-item open-" + it.kind, "data-kind": it.kind }, "⚠ " + it.text);
  if (it.path) {
    li.classList.add("clickable");
    li.addEventListener("click", () => {
      const box = document.querySelector(`[data-field="${it.path}"]`);
      if (box) { box.scrollIntoView({ block: "center" }); const f = box.querySelector("input,textarea,select"); if (f) f.focus(); }
    });
  }
  return li;
}

function renderOpenItems() {
  const items = openItems();
  $("problems").hidden = !items.length;
  $("open-title").textContent = T.open_items.replace("{n}", items.length);
  $("open-list").replaceChildren(...items.map(openNode));
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
// performance deadline, anything else into the new-term box to be worded. Used ones stay
// listed (marked 已采用): an amount already in a term may be wanted in another field too (插入).
function renderCandidates() {
  const box = $("candidates");
  const seen = new Set();
  const list = (doc.candidates || []).filter((c) => {
    const key = c.kind + "\u0000" + c.value;
    if (seen.has(key)) return false; // a name met in ten lines is one candidate
    seen.add(key);
    return true;
  });
  box.hidden = !list.length;
  $("candidate-list").replaceChildren(...list.map((c) => {
    const li = el("li", { class: "candidate candidate-" + c.status, "data-kind": c.kind, "data-status": c.status },
      // a person's reason is the drafter's party id (p1): not for people to read
      `[${T["cand_" + c.status] || c.status}] ${c.value}` + (c.reason && c.kind !== "person" ? ` (${c.reason})` : "") + " ");
    const ev = c.evidence || {};
    const at = el("a", { href: "#", class: "evidence" }, `${fmtClock(ev.start)} ${ev.role || ""}${ev.name || ""}：${ev.quote || ""}`);
    at.addEventListener("click", (e) => { e.preventDefault(); play({ start: ev.start, end: ev.end }); });
    li.append(at);
    if (editable() && c.status !== "used") {
      const b = el("button", { type: "button", class: "take" }, T.take);
      b.addEventListener("click", () => takeCandidate(c));
      li.append(b);
    }
    if (editable()) {
      const ins = el("button", { type: "button", class: "insert small", title: T.cand_insert_hint }, T.cand_insert);
      ins.addEventListener("mousedown", (e) => e.preventDefault()); // keep the field's caret
      ins.addEventListener("click", () => insertCandidate(c));
      li.append(ins);
    }
    return li;
  }));
}

// one click: the candidate's value goes into the field last worked in, at its caret
function insertCandidate(c) {
  if (!lastField || !document.body.contains(lastField.input)) { msg(T.cand_pick_field, true); return; }
  const input = lastField.input;
  const v = String(c.value);
  if (input.tagName === "SELECT") { input.value = v; }
  else {
    const a = input.selectionStart ?? input.value.length, b = input.selectionEnd ?? a;
    input.value = input.value.slice(0, a) + v + input.value.slice(b);
  }
  saveField(lastField.path, input.value);
}

async function takeCandidate(c) {
  try {
    if (c.kind === "obligation" && "terms" in doc.fields) {
      doc = await api("POST", `${base}/documents/${doc.id}/terms`, { text: c.value });
    } else if (c.kind === "date" && "performance_deadline" in doc.fields) {
      doc = await api("PATCH", `${base}/documents/${doc.id}/fields`, { path: "performance_deadline", value: c.value });
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
    msg(doc.version > 1 ? T.draft_replaced.replace("{n}", doc.version - 1) : T.saved);
  } catch (e) { msg(e.message, true); }
});

if ($("approve")) {
  $("approve").addEventListener("click", () => {
    const items = openItems();
    if (!items.length) { doApprove(); return; }
    $("approve-title").textContent = T.approve_open.replace("{n}", items.length);
    $("approve-list").replaceChildren(...items.map((it) => el("li", { "data-kind": it.kind }, it.text)));
    $("approve-dialog").showModal();
  });
  $("approve-cancel").addEventListener("click", () => $("approve-dialog").close());
  $("approve-confirm").addEventListener("click", () => { $("approve-dialog").close(); doApprove(); });
  $("return").addEventListener("click", async () => {
    const note = prompt(T.return_reason);
    if (!note) return;
    try { doc = await api("POST", `${base}/documents/${doc.id}/return`, { note }); render(); }
    catch (e) { msg(e.message, true); }
  });
}

async function doApprove() {
  $("approve").disabled = true;
  msg("…");
  try { doc = await api("POST", `${base}/documents/${doc.id}/approve`); render(); msg(T.state_approved); pollDelivery(); }
  catch (e) { msg(e.message, true); }
  finally { $("approve").disabled = false; }
}

// -- earlier versions of the draft (生成草稿 again keeps them) ---------------------------------
async function loadVersions() {
  let versions = [];
  try { versions = await api("GET", `${base}/documents/${doc.id}/versions`); } catch (e) { versions = []; }
  const earlier = versions.filter((v) => v.version !== doc.version);
  $("versions").hidden = !earlier.length;
  $("version-list").replaceChildren(...earlier.map((v) => el("li", { class: "version", "data-version": v.version },
    `${T.version_n.replace("{n}", v.version)} · ${T["made_" + v.made] || v.made}${v.by ? " · " + v.by : ""}${v.at ? " · " + fmtTime(v.at) : ""} `,
    el("a", { href: `${base}/documents/${doc.id}/versions/${v.version}/docx` }, T.download_docx))));
}

// -- the rendered document, page by page ------------------------------------------------------
let pagesTimer = null;
function schedulePages() {
  if ($("document-col").hidden) return; // rendered when the tab is opened
  clearTimeout(pagesTimer);
  pagesTimer = setTimeout(loadPages, 800);
}

async function loadPages() {
  if (!doc) return;
  $("pages-msg").textContent = T.pages_rendering;
  try {
    const info = await api("GET", `${base}/documents/${doc.id}/pages`);
    $("pages-msg").textContent = T.pages_n.replace("{n}", info.pages);
    $("doc-pages").replaceChildren(...info.urls.map((u, i) => el("figure", { class: "doc-page" },
      el("img", { src: u, alt: T.page_n.replace("{n}", i + 1) }),
      el("figcaption", {}, T.page_n.replace("{n}", i + 1)))));
  } catch (e) { $("pages-msg").textContent = e.message; }
}

function showTab(which) {
  const transcriptTab = which === "transcript";
  if (transcriptTab === !$("transcript-col").hidden) return;
  $("transcript-col").hidden = !transcriptTab;
  $("document-col").hidden = transcriptTab;
  $("tab-transcript").classList.toggle("active", transcriptTab);
  $("tab-document").classList.toggle("active", !transcriptTab);
  $("tab-transcript").setAttribute("aria-selected", String(transcriptTab));
  $("tab-document").setAttribute("aria-selected", String(!transcriptTab));
  if (!transcriptTab) schedulePages();
}
$("tab-transcript").addEventListener("click", () => showTab("transcript"));
$("tab-document").addEventListener("click", () => showTab("document"));

async function pollDelivery() {
  for (let i = 0; i < 60 && doc && doc.status === "approved"; i++) {
    doc = await api("GET", `${base}/documents/${doc.id}`);
    render();
    if (doc.deliveries.length && doc.deliveries.every((m) => m.status === "delivered")) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// -- the transcript editor ---------------------------------------------------------------------
// One <audio> holds the whole recording (the server answers byte ranges, so any word can be
// sought). Every word is a button-like span with its times: a click plays from it, a double
// click edits it; the word being played is highlighted and followed. Lines are retyped in place
// (the original stays beside them), turns given to another speaker (one, or all of a label),
// split before the word last clicked, merged into the turn above. Keyboard: see the page.
const player = $("player");
player.src = `${base}/audio`;
let turns = [];      // the server's view: [{id, start, end, speaker, text, original, tokens ...}]
let people = [];     // whom a turn may be given to: parties, named speakers, staff
let speakers = {};   // label -> {role, name}
let timed = [];      // [{s, e, node, turn}] in time order, for the highlight
let current = null;  // the highlighted word node
let stopAt = null;   // an evidence span plays to its end, then stops
let clicked = null;  // {turn, offset}: the last word clicked (where 分段 cuts)
const SPEEDS = [0.75, 1, 1.25, 1.5];

function fmtClockMs(s) { return fmtClock(s) + "." + String(Math.floor(((s || 0) % 1) * 10)); }

function playFrom(t) {
  stopAt = null;
  player.currentTime = Math.max(0, t);
  player.play().catch(() => {});
}

function playSpan(start, end) {
  player.currentTime = Math.max(0, (start || 0) - 0.2);
  stopAt = end ? end + 0.2 : null;
  player.play().catch(() => {});
  showTab("transcript");
}

function whoLabel(label) {
  const p = speakers[label];
  if (!p) return label || T.speaker_unknown;
  return (T["role_" + p.role] || p.role) + (p.name ? " " + p.name : "");
}

function personKey(p) { return `${p.role}|${p.name}`; }

function speakerPicker(t) {
  const sel = el("select", { class: "turn-speaker", "data-turn": t.id, "aria-label": T.pick_speaker },
    el("option", { value: "" }, whoLabel(t.speaker)),
    ...people.map((p) => el("option", { value: personKey(p) }, `${T["role_" + p.role] || p.role} ${p.name}`)));
  sel.addEventListener("change", () => {
    if (!sel.value) return;
    const [role, ...rest] = sel.value.split("|");
    const person = { role, name: rest.join("|") };
    const row = sel.closest(".tseg").querySelector(".speaker-scope");
    const n = turns.filter((x) => x.speaker === t.speaker).length;
    row.replaceChildren(
      el("button", { type: "button", class: "small scope-one", onclick: () => setTurnSpeaker(t, person) }, T.speaker_this_turn),
      t.speaker ? el("button", { type: "button", class: "small scope-all",
        onclick: () => setLabelSpeaker(t.speaker, person) }, T.speaker_all_turns.replace("{label}", t.speaker).replace("{n}", n)) : null,
      el("button", { type: "button", class: "link small", onclick: () => { row.replaceChildren(); sel.value = ""; } }, T.cancel));
    row.hidden = false;
  });
  return sel;
}

function tokenNode(t, k, offset) {
  const cls = ["w"];
  if (k.unsure) cls.push("unsure");
  if (k.edited) cls.push("edited");
  const node = el("span", { class: cls.join(" "), "data-offset": offset }, k.t);
  if (k.s !== undefined) {
    node.dataset.s = k.s; node.dataset.e = k.e;
    node.title = `${fmtClockMs(k.s)}${k.p !== undefined ? " · " + T.certainty + " " + Math.round(k.p * 100) + "%" : ""}`;
    node.addEventListener("click", (e) => {
      if (e.detail > 1) return;
      clicked = { turn: t.id, offset };
      playFrom(k.s);
    });
  }
  node.addEventListener("dblclick", (e) => { e.preventDefault(); editWord(t, node, offset, k.t); });
  return node;
}

function turnNode(t) {
  const tokensBox = el("span", { class: "ttext", "data-turn": t.id });
  let offset = 0;
  for (const k of t.tokens) { tokensBox.append(tokenNode(t, k, offset)); offset += k.t.length; }
  const cls = ["tseg"];
  if (t.unrecognised) cls.push("unrecognised");
  if (t.edited) cls.push("edited");
  if (t.speaker_changed) cls.push("speaker-changed");
  const tools = el("span", { class: "ttools" },
    el("button", { type: "button", class: "link small edit-line", title: T.edit_line, onclick: () => editLine(t) }, "✎ " + T.correct),
    el("button", { type: "button", class: "link small split", title: T.split_hint, onclick: () => splitTurn(t) }, "✂ " + T.split),
    el("button", { type: "button", class: "link small merge", title: T.merge_hint, onclick: () => mergeTurn(t) }, "⤒ " + T.merge));
  const node = el("div", { class: cls.join(" "), "data-turn": t.id, "data-start": t.start, "data-end": t.end },
    el("div", { class: "thead" },
      el("button", { type: "button", class: "link play-turn", title: T.plays_audio, onclick: () => playFrom(t.start) }, `▶ ${fmtClock(t.start)}`),
      speakerPicker(t), tools),
    el("div", { class: "speaker-scope", hidden: true }),
    tokensBox);
  if (t.unrecognised) {
    node.append(el("div", { class: "lost-note" }, T.unrecognised, " ",
      el("button", { type: "button", class: "small play-lost", onclick: () => playSpan(t.start, t.end) }, "▶ " + T.play_span)));
  }
  if (t.edited) node.append(el("span", { class: "orig" }, `${T.original}：${t.original}`));
  if (t.speaker_changed) node.append(el("span", { class: "orig" }, `${T.original_speaker}：${whoLabel(t.original_speaker)}`));
  return node;
}

let renders = 0;
function renderTranscript() {
  const box = $("transcript-review");
  box.replaceChildren(...turns.map(turnNode));
  box.dataset.renders = String(++renders); // how many times drawn: a driver waits for the next
  timed = [...box.querySelectorAll(".w[data-s]")].map((n) => ({ s: Number(n.dataset.s), e: Number(n.dataset.e), node: n }));
  timed.sort((a, b) => a.s - b.s);
  current = null;
  updateReplaceButton();
}

function take(view) {
  turns = view.turns || [];
  people = view.people || [];
  speakers = view.speakers || {};
  $("stale-note").hidden = !view.stale;
  renderTranscript();
  if (view.learnt && view.learnt.length) msg(T.learnt.replace("{words}", view.learnt.join("、")));
}

async function loadTranscript() {
  try { take(await api("GET", `${base}/transcript/turns`)); } catch (e) { turns = []; renderTranscript(); }
}

async function edit(method, url, body, done) {
  try {
    const view = await api(method, url, body);
    take(view);
    if (!(view.learnt && view.learnt.length)) msg(done || T.saved);
    return view;
  } catch (e) { msg(e.message, true); return null; }
}

// a word corrected where it stands: the line keeps every other word and its times
function editWord(t, node, offset, text) {
  const input = el("input", { class: "word-edit", value: text, size: Math.max(2, text.length + 1), "aria-label": T.correct });
  node.replaceWith(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const now = input.value;
    if (!save || now === text) { input.replaceWith(node); return; }
    const line = t.text.slice(0, offset) + now + t.text.slice(offset + text.length);
    await edit("PUT", `${base}/transcript/turns/${t.id}`, { text: line });
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); finish(true); }
    else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); finish(false); }
  });
  input.addEventListener("blur", () => finish(true));
}

// a whole line retyped in place; Enter or leaving the line saves it
function editLine(t) {
  const box = document.querySelector(`.ttext[data-turn="${t.id}"]`);
  box.textContent = t.text;
  box.contentEditable = "plaintext-only";
  box.classList.add("editing");
  box.focus();
  let done = false;
  const finish = async () => {
    if (done) return;
    done = true;
    box.contentEditable = "false";
    const now = box.textContent.trim();
    if (now === t.text) { renderTranscript(); return; }
    await edit("PUT", `${base}/transcript/turns/${t.id}`, { text: now });
  };
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); finish(); }
  });
  box.addEventListener("blur", finish, { once: true });
}

function caretOffset(t) {
  const box = document.querySelector(`.ttext[data-turn="${t.id}"]`);
  const sel = window.getSelection();
  // the caret counts only in a line being retyped; otherwise the word last clicked
  if (!box || !box.isContentEditable || !sel.rangeCount || !box.contains(sel.anchorNode)) return null;
  const r = document.createRange();
  r.selectNodeContents(box);
  r.setEnd(sel.anchorNode, sel.anchorOffset);
  return r.toString().length;
}

async function splitTurn(t) {
  const at = caretOffset(t) ?? (clicked && clicked.turn === t.id ? clicked.offset : null);
  if (!at) { msg(T.split_where, true); return; }
  await edit("POST", `${base}/transcript/turns/${t.id}/split`, { at }, T.split_done);
}

async function mergeTurn(t) { await edit("POST", `${base}/transcript/turns/${t.id}/merge`, undefined, T.merge_done); }

async function setTurnSpeaker(t, person) {
  await edit("PUT", `${base}/transcript/turns/${t.id}/speaker`, person, T.saved);
}

async function setLabelSpeaker(label, person) {
  try {
    await api("PUT", `${base}/speakers/${encodeURIComponent(label)}`, person);
    await loadTranscript();
    msg(T.saved);
  } catch (e) { msg(e.message, true); }
}

// -- find and replace across the hearing
function occurrences(find) {
  if (!find) return 0;
  return turns.reduce((n, t) => n + t.text.split(find).length - 1, 0);
}

function updateReplaceButton() {
  const n = occurrences($("find").value);
  const b = $("replace-all");
  b.textContent = T.replace_all_n.replace("{n}", n);
  b.disabled = !n;
  for (const node of document.querySelectorAll(".tseg.found")) node.classList.remove("found");
  if (n) for (const t of turns) if (t.text.includes($("find").value)) {
    const node = document.querySelector(`.tseg[data-turn="${t.id}"]`);
    if (node) node.classList.add("found");
  }
}
$("find").addEventListener("input", updateReplaceButton);
$("replace-all").addEventListener("click", async () => {
  const find = $("find").value;
  const view = await edit("POST", `${base}/transcript/replace`, { find, replace: $("replace").value });
  if (view && !(view.learnt && view.learnt.length)) msg(T.replaced_n.replace("{n}", view.replaced));
});

$("next-unsure").addEventListener("click", () => {
  const all = [...document.querySelectorAll(".w.unsure")];
  if (!all.length) { msg(T.no_unsure); return; }
  const after = all.find((n) => Number(n.dataset.s) > player.currentTime + 0.05) || all[0];
  after.scrollIntoView({ block: "center" });
  playFrom(Number(after.dataset.s));
});

// -- the word being played: highlighted and followed
function highlight() {
  const now = player.currentTime;
  if (stopAt !== null && now >= stopAt) { player.pause(); stopAt = null; }
  let lo = 0, hi = timed.length - 1, found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (timed[mid].s <= now) { found = timed[mid]; lo = mid + 1; } else hi = mid - 1;
  }
  const node = found && now < found.e + 0.3 ? found.node : null;
  if (node === current) return;
  if (current) { current.classList.remove("now"); current.closest(".tseg")?.classList.remove("playing"); }
  current = node;
  if (!node) return;
  node.classList.add("now");
  const seg = node.closest(".tseg");
  seg?.classList.add("playing");
  const editing = document.activeElement && (document.activeElement.isContentEditable || document.activeElement.tagName === "INPUT" || document.activeElement.tagName === "TEXTAREA");
  if ($("follow").checked && !editing) {
    const col = $("transcript-review").getBoundingClientRect(), r = node.getBoundingClientRect();
    if (r.top < col.top || r.bottom > Math.min(col.bottom, window.innerHeight)) node.scrollIntoView({ block: "center" });
  }
}
player.addEventListener("timeupdate", highlight);
player.addEventListener("seeked", highlight);
(function tick() { if (!player.paused) highlight(); requestAnimationFrame(tick); })();

// -- keyboard control (documented on the page)
function setSpeed(v) { player.playbackRate = v; $("speed").value = String(v); }
$("speed").addEventListener("change", () => setSpeed(Number($("speed").value)));

function togglePlay() {
  if (player.paused) { player.currentTime = Math.max(0, player.currentTime - 2); stopAt = null; player.play().catch(() => {}); }
  else player.pause();
}

function skip(sec) { player.currentTime = Math.max(0, Math.min(player.duration || Infinity, player.currentTime + sec)); }

function stepSpeed(dir) {
  const i = SPEEDS.indexOf(player.playbackRate);
  setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 1 : i) + dir))]);
}

document.addEventListener("keydown", (e) => {
  if ($("approve-dialog") && $("approve-dialog").open) return;
  const a = document.activeElement;
  const typing = a && (a.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(a.tagName));
  const keys = { Escape: togglePlay, F3: () => skip(-5), F4: () => skip(5), F1: () => stepSpeed(-1), F2: () => stepSpeed(1) };
  const outside = { " ": togglePlay, ArrowLeft: () => skip(-5), ArrowRight: () => skip(5) };
  const fn = keys[e.key] || (!typing && !e.ctrlKey && !e.altKey && !e.metaKey ? outside[e.key] : null);
  if (!fn) return;
  if (e.key === "Escape" && a && a.classList.contains("word-edit")) return; // Esc there cancels the word
  e.preventDefault();
  fn();
});

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
