// The hearing desk: consent, Record/Pause/Stop, the level meter and the live transcript.
// Audio: getUserMedia -> AudioWorklet (pcm-worklet.js) -> 16 kHz Int16 frames -> WebSocket.
// Events come back on the same socket (docs/events.md): partial (grey, replaced), final (black,
// never changes), speaker updates, state, warnings, final-pass progress.
"use strict";
const H = PAGE.hearing;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const state = {
  status: H.status, speakers: Object.assign({}, H.speakers || {}), colorOf: {}, ws: null, lastSeq: 0,
  audio: null, startedAt: null, elapsedBefore: 0, clockTimer: null, partials: {}, stopping: false,
};

const $ = (id) => document.getElementById(id);
const roleLabel = (r) => T["role_" + r] || r;

function setStatus(s) {
  state.status = s;
  const badge = $("status");
  badge.textContent = T["state_" + s] || s;
  badge.className = "status status-" + s;
  badge.dataset.status = s;
  const consented = H.all_consented;
  $("btn-record").disabled = !consented || s === "recording" || !["created", "paused"].includes(s);
  $("btn-pause").disabled = s !== "recording";
  $("btn-stop").disabled = !["recording", "paused"].includes(s);
  $("to-review").hidden = ["created", "recording", "paused"].includes(s);
  $("consent-hint").hidden = consented;
}

// -- consent ----------------------------------------------------------------------------------
function renderConsent() {
  const byParty = {};
  for (const c of H.consents || []) byParty[c.party_index] = c;
  const items = H.parties.map((p, i) => {
    const c = byParty[i];
    const stateText = c
      ? `${c.consented ? T.consented_at : T.refused_at} ${fmtTime(c.at)} · ${T.confirmed_by} ${c.confirmed_by_name}`
      : T.no_consent_yet;
    const read = el("input", { type: "checkbox", class: "notice-read", "data-party": i });
    const li = el("li", { class: "consent " + (c ? (c.consented ? "yes" : "no") : "pending"), "data-party": i },
      el("div", { class: "who" }, el("b", {}, p.name), " ", el("span", { class: "muted" }, roleLabel(p.role))),
      el("div", { class: "state" }, stateText));
    if (["created", "paused"].includes(state.status) || !c) {
      li.append(el("div", { class: "actions" },
        el("label", { class: "inline" }, read, " ", T.notice_read),
        el("button", { type: "button", class: "small agree", onclick: () => consent(i, true, read.checked) }, T.agrees),
        el("button", { type: "button", class: "small refuse", onclick: () => consent(i, false, read.checked) }, T.refuses)));
    }
    return li;
  });
  $("consent-list").replaceChildren(...items);
}

async function consent(i, yes, noticeRead) {
  try {
    // by the party's id: the consent is that person's, whatever the list's order later
    await api("POST", `/api/hearings/${H.id}/consent`, { party_id: H.parties[i].id, consented: yes, notice_read: noticeRead });
    Object.assign(H, await api("GET", `/api/hearings/${H.id}`));
    renderConsent();
    setStatus(H.status);
  } catch (e) { showMsg(e.message, true); }
}

// -- speakers ---------------------------------------------------------------------------------
function colorFor(label) {
  if (!label) return "#666";
  if (!(label in state.colorOf)) state.colorOf[label] = COLORS[Object.keys(state.colorOf).length % COLORS.length];
  return state.colorOf[label];
}

function speakerName(label) {
  const s = state.speakers[label];
  if (!s) return label || T.speaker_unknown;
  return roleLabel(s.role) + (s.name ? " " + s.name : "");
}

function renderSpeakers() {
  const labels = Object.keys(state.colorOf);
  $("speakers").replaceChildren(...labels.map((l) =>
    el("li", {}, el("button", { type: "button", class: "speaker-chip", "data-speaker": l, style: `border-color:${colorFor(l)};color:${colorFor(l)}`,
      onclick: () => openSpeakerDialog(l) }, speakerName(l)))));
  for (const node of document.querySelectorAll(".seg .spk")) node.textContent = speakerName(node.dataset.speaker);
}

function openSpeakerDialog(label) {
  const s = state.speakers[label] || {};
  $("speaker-label").textContent = label;
  $("speaker-role").value = s.role || "applicant";
  $("speaker-name").value = s.name || "";
  const dlg = $("speaker-dialog");
  dlg.dataset.label = label;
  dlg.showModal();
}

$("speaker-dialog").addEventListener("close", async () => {
  const dlg = $("speaker-dialog");
  if (dlg.returnValue !== "ok") return;
  const label = dlg.dataset.label;
  try {
    const h = await api("PUT", `/api/hearings/${H.id}/speakers/${encodeURIComponent(label)}`,
      { role: $("speaker-role").value, name: $("speaker-name").value.trim() });
    state.speakers = h.speakers;
    renderSpeakers();
  } catch (e) { showMsg(e.message, true); }
});

// -- transcript -------------------------------------------------------------------------------
// Speech no decode recognised (final with "unrecognised": true): marked, with a button that
// plays that span of the recording, so staff can ask again or note it while the parties are there.
let player = null;
function playSpan(start, end) {
  player = player || new Audio();
  player.src = `/api/hearings/${H.id}/audio?start=${Math.max(0, start - 0.2).toFixed(2)}&end=${(end + 0.2).toFixed(2)}`;
  player.play().catch((e) => showMsg(e.message, true));
}

function segNode(ev, final) {
  const label = ev.speaker || null;
  colorFor(label);
  const lost = final && ev.unrecognised;
  return el("p", { class: "seg " + (final ? "final" : "partial") + (lost ? " unrecognised" : ""),
                   "data-utt": ev.utterance, "data-id": ev.id || "" },
    el("button", { type: "button", class: "spk", "data-speaker": label || "", style: `color:${colorFor(label)}`,
      onclick: () => label && openSpeakerDialog(label) }, speakerName(label)),
    el("span", { class: "ts" }, fmtClock(ev.start)),
    el("span", { class: "text", title: lost ? T.unrecognised : null }, ev.text),
    lost ? el("button", { type: "button", class: "play", title: T.unrecognised,
                          onclick: () => playSpan(ev.start, ev.end) }, `▶ ${T.play}`) : null,
    lost ? el("span", { class: "lost-note" }, T.unrecognised) : null);
}

function onEvent(ev) {
  if (ev.seq) state.lastSeq = Math.max(state.lastSeq, ev.seq);
  const box = $("transcript");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  if (ev.type === "partial") {
    const old = state.partials[ev.utterance];
    const node = segNode(ev, false);
    if (old) old.replaceWith(node); else box.append(node);
    state.partials[ev.utterance] = node;
  } else if (ev.type === "final") {
    const node = segNode(ev, true);
    const old = state.partials[ev.utterance];
    if (old) { old.replaceWith(node); delete state.partials[ev.utterance]; } else box.append(node);
    renderSpeakers();
  } else if (ev.type === "speaker") {
    const node = box.querySelector(`.seg[data-id="${CSS.escape(ev.id || "")}"] .spk`);
    if (node) { node.dataset.speaker = ev.speaker; node.style.color = colorFor(ev.speaker); node.textContent = speakerName(ev.speaker); }
    renderSpeakers();
  } else if (ev.type === "level") {
    meter(Math.max(0, Math.min(1, (ev.rms_dbfs + 60) / 60)));
  } else if (ev.type === "warning" || ev.type === "error") {
    showMsg(T["warn_" + ev.code] || ev.message, ev.type === "error");
    if (ev.code === "consent_paused") consentPaused();
  } else if (ev.type === "progress") {
    showMsg(`${T.final_pass} ${Math.round(ev.fraction * 100)}%`);
  } else if (ev.type === "state") {
    if (ev.state === "finished") { state.finalDone = true; showMsg(T.final_ready); }
  }
  if (atBottom) box.scrollTop = box.scrollHeight;
}

// A refusal, or a party added or changed, while recording: the server paused the hearing (the
// message says why); the desk stops its clock and shows Record again, which asks for consent.
async function consentPaused() {
  if (state.audio) state.audio.node.port.postMessage({ paused: true });
  if (state.startedAt) { state.elapsedBefore += (Date.now() - state.startedAt) / 1000; state.startedAt = null; }
  try {
    Object.assign(H, await api("GET", `/api/hearings/${H.id}`));
    renderConsent();
    setStatus(H.status);
  } catch (e) { /* the next reload shows it */ }
}

function showMsg(text, isError) {
  const m = $("engine-msg");
  m.textContent = text || "";
  m.classList.toggle("error", !!isError);
}

// -- level meter and clock ---------------------------------------------------------------------
function meter(v) { $("meter-bar").style.width = Math.round(v * 100) + "%"; }
function fmtClock(s) {
  s = Math.max(0, Math.floor(s || 0));
  const mm = String(Math.floor(s / 60)).padStart(2, "0"), ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.slice(-2)}:${ss}` : `${mm}:${ss}`;
}
function tick() {
  const run = state.startedAt ? (Date.now() - state.startedAt) / 1000 : 0;
  $("clock").textContent = fmtClock(state.elapsedBefore + run);
}

// -- capture and socket ------------------------------------------------------------------------
function connect(path) {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (state.lastSeq) url.searchParams.set("after", state.lastSeq);
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  // "start" makes this socket the session's audio source (again, after a reconnect)
  ws.onopen = () => ws.send(JSON.stringify({ op: "start" }));
  ws.onmessage = (m) => { if (typeof m.data === "string") onEvent(JSON.parse(m.data)); };
  ws.onclose = () => {
    state.ws = null;
    // the engine keeps the session: reconnect and ask for what we missed
    if (["recording", "paused"].includes(state.status) || (state.status === "stopped" && !state.finalDone)) {
      setTimeout(() => { if (!state.ws) state.ws = connect(path); }, 1000);
    }
  };
  return ws;
}

// A 16 kHz context: the browser's band-limited resampler does the rate change. A browser that
// cannot feed a microphone into it (Firefox) gets a device-rate context, and the worklet's own
// low-pass resampler does it.
async function micGraph(stream) {
  for (const opts of [{ sampleRate: 16000 }, {}]) {
    const ctx = new AudioContext(opts);
    try {
      const src = ctx.createMediaStreamSource(stream);
      await ctx.audioWorklet.addModule("/static/pcm-worklet.js");
      return { ctx, src };
    } catch (e) {
      ctx.close();
      if (!opts.sampleRate) throw e;
    }
  }
}

async function startCapture() {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const { ctx, src } = await micGraph(stream);
  const node = new AudioWorkletNode(ctx, "pcm-downsampler");
  node.port.onmessage = (e) => {
    meter(Math.min(1, e.data.level * 4));
    if (state.ws && state.ws.readyState === WebSocket.OPEN && state.status === "recording") state.ws.send(e.data.pcm);
  };
  src.connect(node);
  state.audio = { stream, ctx, node };
}

function stopCapture() {
  if (!state.audio) return;
  state.audio.stream.getTracks().forEach((t) => t.stop());
  state.audio.ctx.close();
  state.audio = null;
  meter(0);
}

$("btn-record").addEventListener("click", async () => {
  $("btn-record").disabled = true;
  try {
    const r = await api("POST", `/api/hearings/${H.id}/record`);
    if (!state.audio) await startCapture();
    if (!state.ws) state.ws = connect(r.websocket);
    state.wsPath = r.websocket;
    state.audio.node.port.postMessage({ paused: false });
    state.startedAt = Date.now();
    state.clockTimer = state.clockTimer || setInterval(tick, 500);
    setStatus("recording");
    renderConsent();
  } catch (e) {
    showMsg((e.name === "NotAllowedError" || e.name === "NotFoundError" ? T.mic_error : "") + e.message, true);
    setStatus(state.status);
  }
});

$("btn-pause").addEventListener("click", async () => {
  try {
    await api("POST", `/api/hearings/${H.id}/pause`);
    if (state.audio) state.audio.node.port.postMessage({ paused: true });
    state.elapsedBefore += (Date.now() - state.startedAt) / 1000;
    state.startedAt = null;
    setStatus("paused");
    renderConsent();
  } catch (e) { showMsg(e.message, true); }
});

$("btn-stop").addEventListener("click", async () => {
  try {
    // let the last audio frame leave before the engine closes the stream
    if (state.audio) state.audio.node.port.postMessage({ paused: true });
    await new Promise((r) => setTimeout(r, 200));
    await api("POST", `/api/hearings/${H.id}/stop`);
    if (state.startedAt) state.elapsedBefore += (Date.now() - state.startedAt) / 1000;
    state.startedAt = null;
    stopCapture();
    setStatus("stopped");
    renderConsent();
  } catch (e) { showMsg(e.message, true); }
});

// -- enrolment of the mediator's voice ---------------------------------------------------------
$("enrol").addEventListener("click", async () => {
  const box = $("enrol-status");
  box.hidden = false;
  if (!confirm(T.enrol_notice)) { box.textContent = ""; return; }
  box.textContent = T.enrol_hint;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
    const { ctx, src } = await micGraph(stream);
    const node = new AudioWorkletNode(ctx, "pcm-downsampler");
    const chunks = [];
    node.port.onmessage = (e) => { chunks.push(new Int16Array(e.data.pcm)); meter(Math.min(1, e.data.level * 4)); };
    src.connect(node);
    await new Promise((r) => setTimeout(r, 10000));
    stream.getTracks().forEach((t) => t.stop());
    ctx.close();
    const n = chunks.reduce((a, c) => a + c.length, 0);
    const pcm = new Int16Array(n);
    let o = 0;
    for (const c of chunks) { pcm.set(c, o); o += c.length; }
    const res = await fetch(`/api/voiceprints/me?consent=true`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": PAGE.csrf }, body: pcm.buffer,
    });
    const data = await res.json();
    box.textContent = res.ok ? `${T.saved} (${data.speech_seconds} s)` : (data.error || res.status) + (data.fix ? " — " + data.fix : "");
  } catch (e) { box.textContent = T.mic_error + e.message; }
});

renderConsent();
setStatus(H.status);
if (H.live_session_id && H.status !== "created") {
  // reopening the page mid-hearing: show what has been said so far
  api("GET", `/api/hearings/${H.id}/transcript`).then((tr) => {
    for (const [i, s] of (tr.segments || []).entries()) onEvent({ type: "final", utterance: "r" + i, ...s });
  }).catch(() => {});
}
