// The hearing desk: consent, Record/Pause/Stop, the level meter and the live transcript.
// Audio: getUserMedia -> AudioWorklet (pcm-worklet.js) -> 16 kHz Int16 frames -> WebSocket.
// Events come back on the same socket (docs/events.md): partial (grey, replaced), final (black,
// never changes), speaker updates, state, warnings, final-pass progress.
//
// Recording survives trouble (docs/events.md, "Audio through a lost connection"): every captured
// frame carries its sample offset in the session and stays in `cap.frames` until the server
// acknowledges it ({"type": "audio", "received": N}); after a reconnect the page sends `start`
// again and resends from the server's N, so nothing is archived twice or left out. While the
// socket is down the page keeps capturing into that buffer, up to BUFFER_LIMIT_S (10 minutes,
// about 19 MB); beyond it the oldest audio is dropped and the page says how much. A reload or a
// second tab rejoins the running session (the latest window to start is the audio source; the
// one it replaced says so and stops capturing; the new one keeps only what it captured after the
// old one's last frame arrived, so the room is archived once; a window that merely reconnects
// does not take the recording back from one that records). After a server restart the hearing
// is "interrupted": the page offers 继续录音 (record on into the same archive, the buffer first)
// or 结束. Pause and 结束 cut where they are pressed: nothing is captured after the click, and the
// server pauses or stops only once everything before it has arrived (offline: when it is back).
"use strict";
const H = PAGE.hearing;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const RATE = 16000;
const BUFFER_LIMIT_S = 600; // the documented bound of audio kept while the server cannot be reached
const ACK_TIMEOUT_MS = 4000; // no acknowledgement this long while sending: the connection is dead
const CONNECT_TIMEOUT_MS = 5000;
// this page, to the server: its own reconnects are not "another window" (docs/events.md)
const WINDOW_ID = Math.random().toString(36).slice(2) + Date.now().toString(36);
const state = {
  status: H.status, speakers: Object.assign({}, H.speakers || {}), colorOf: {}, ws: null, lastSeq: 0,
  audio: null, partials: {}, finalDone: false, wsPath: null, conn: "idle", recorded: 0,
  sessionState: null, interrupted: null, reconnectDelay: 500, finalShown: false,
};
// what was captured and not yet acknowledged, with its place in the session's audio
const cap = {
  frames: [], // {off, pcm: Int16Array}, in order
  pre: [], // captured before the server said where the session's audio stands
  next: null, // offset of the next captured sample (null until the server said)
  sent: 0, // sent on the current socket up to here
  acked: 0, // the server holds everything before this
  active: false, // the server takes this window's audio
  awaitingStart: false,
  lastAckAt: 0,
  lost: 0, // samples dropped because the buffer was full
  capturing: false, // the worklet is running and its frames are kept
  hold: false, // a resume is on its way to the server: frames wait until it is there
};

const $ = (id) => document.getElementById(id);
const roleLabel = (r) => T["role_" + r] || r;

function setStatus(s) {
  state.status = s;
  const badge = $("status");
  // never "录音中" when this window captures nothing
  const idle = s === "recording" && !cap.capturing;
  const elsewhere = idle && state.conn === "elsewhere";
  const ending = !!state.stopPending;
  const shown = ending ? "stopping" : elsewhere ? "elsewhere" : idle ? "not_capturing" : s;
  badge.textContent = T["state_" + shown] || (elsewhere ? T.recording_elsewhere : idle ? T.not_capturing : s);
  badge.className = "status status-" + (idle || ending ? "paused" : s);
  badge.dataset.status = shown;
  const consented = H.all_consented;
  // another window records: one way back, its 在此窗口录音 (next to the notice)
  $("btn-record").disabled = ending || !consented || !(["created", "paused"].includes(s) || (idle && !elsewhere));
  $("btn-pause").disabled = ending || !(s === "recording" && cap.capturing);
  $("btn-stop").disabled = ending || !["recording", "paused"].includes(s);
  $("to-review").hidden = ["created", "recording", "paused"].includes(s);
  $("consent-hint").hidden = consented;
  $("recovery").hidden = s !== "interrupted";
  $("btn-continue").disabled = !consented;
  tick();
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
  if (ev.type === "audio") { onAudio(ev); return; }
  if (ev.seq) {
    if (ev.seq <= state.lastSeq) return; // already shown (a replay overlapping what came live)
    state.lastSeq = ev.seq;
  }
  const box = $("transcript");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  if ((state.finalShown || state.textShown) && ["partial", "final", "speaker"].includes(ev.type)) return;
  if (ev.type === "partial") {
    const old = state.partials[ev.utterance];
    if (!ev.text) { if (old) old.remove(); delete state.partials[ev.utterance]; return; }
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
    if (!cap.capturing) {
      meter(Math.max(0, Math.min(1, (ev.rms_dbfs + 60) / 60)));
      if (state.conn === "elsewhere" && cap.next === null) state.recorded = ev.t; // the other window's clock
    }
  } else if (ev.type === "warning" || ev.type === "error") {
    // the server's own words are for logs; the desk says it in the user's language
    if (ev.type === "error" && ev.code === "final_pass_failed") finalProgress.fail();
    showMsg(liveText(ev), ev.type === "error");
    if (ev.code === "consent_paused") consentPaused();
  } else if (ev.type === "progress") {
    finalProgress.update(ev);
  } else if (ev.type === "state") {
    onSessionState(ev);
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

// The live session's own states (docs/events.md). A socket first replays the journal (history:
// it must not move the page), then answers start/watch with where the session stands now (a
// state event without seq); from then on every state event is news.
function onSessionState(ev) {
  const now = !ev.seq;
  if (ev.state === "interrupted") {
    state.interrupted = Object.assign({}, state.interrupted || {}, ...[ev].map((e) =>
      Object.fromEntries(Object.entries(e).filter(([, v]) => v !== null && v !== undefined))));
    // partials of the utterance the interruption cut are never finished: clear them
    for (const node of Object.values(state.partials)) node.remove();
    state.partials = {};
  } else if (ev.state === "finalizing") {
    finalProgress.start(ev);
  } else if (ev.state === "finished") {
    state.finalDone = true;
    finalProgress.done();
    showFinalTranscript();
  }
  state.sessionState = ev.state;
  if (now) state.synced = true;
  else if (!state.synced) return;
  if (ev.state === "interrupted" && ["recording", "paused", "interrupted"].includes(state.status)) {
    setStatus("interrupted"); // the page keeps capturing into its buffer until 继续录音 / 结束
    renderRecovery();
  } else if (ev.state === "recording" && state.status === "interrupted" && !now && !cap.awaitingStart && !cap.active) {
    // another window pressed 继续录音: it records now
    stopCapture();
    state.conn = "elsewhere";
    setStatus("recording");
  } else if (ev.state === "stopped" && ["recording", "paused", "interrupted"].includes(state.status)) {
    finishCapture();
    setStatus("stopped");
    renderConsent();
  }
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
  // recorded audio, what is buffered included (pauses left out): the hearing's real length
  const secs = cap.next !== null ? cap.next / RATE : state.recorded + pending(cap.pre) / RATE;
  $("clock").textContent = fmtClock(secs);
  if (state.stopPending) showMsg(T.stop_pending.replace("{n}", Math.max(1, Math.round(buffered() / RATE))), true);
  else if (state.pausePending && buffered() > 0) showMsg(T.pause_pending.replace("{n}", Math.max(1, Math.round(buffered() / RATE))));
  watchdog();
  renderConn();
}

// -- the audio buffer ---------------------------------------------------------------------------
const pending = (list) => list.reduce((a, f) => a + (f.pcm ? f.pcm.length : f.length), 0);
const buffered = () => (cap.next === null ? 0 : cap.next - cap.acked) + pending(cap.pre);

function onFrame(pcm) {
  if (!cap.capturing) return;
  if (!cap.firstFrameAt) cap.firstFrameAt = performance.now();
  if (cap.next === null) cap.pre.push({ pcm, at: performance.now() }); // at: when its last sample came
  else { cap.frames.push({ off: cap.next, pcm }); cap.next += pcm.length; }
  // the bound: beyond it the oldest audio goes (said on screen), never the page's memory
  let over = buffered() - BUFFER_LIMIT_S * RATE;
  while (over > 0 && (cap.frames.length || cap.pre.length)) {
    const f = (cap.frames.length ? cap.frames.shift() : cap.pre.shift()).pcm;
    over -= f.length;
    cap.lost += f.length;
    if (cap.frames.length) cap.acked = Math.max(cap.acked, cap.frames[0].off);
  }
  if (cap.lost) showMsg(T.buffer_full.replace("{n}", BUFFER_LIMIT_S / 60).replace("{lost}", Math.round(cap.lost / RATE)), true);
  pump();
}

// send what the server does not have yet, in order
function pump() {
  const ws = state.ws;
  if (cap.hold || !ws || ws.readyState !== WebSocket.OPEN || !cap.active || cap.awaitingStart) return;
  for (const f of cap.frames) {
    const end = f.off + f.pcm.length;
    if (end <= cap.sent) continue;
    const from = Math.max(0, cap.sent - f.off);
    ws.send(from ? f.pcm.slice(from) : f.pcm);
    cap.sent = end;
  }
}

function onAudio(m) {
  if (m.received === undefined) return;
  // what this window holds unacknowledged, before a count that may include another window's
  // audio (a taken_over reply to a rejoin) is read as an acknowledgement of its own
  const held = buffered();
  if (cap.next === null) {
    // where this window's audio starts in the session: the server's count
    if (m.active && cap.awaitingStart && m.replaced_last_audio_ms !== undefined) cutHandover(m.replaced_last_audio_ms);
    cap.next = cap.base = m.received;
    for (const { pcm } of cap.pre) { cap.frames.push({ off: cap.next, pcm }); cap.next += pcm.length; }
    cap.pre = [];
  }
  cap.acked = Math.max(cap.acked, Math.min(m.received, cap.next));
  cap.lastAckAt = Date.now();
  while (cap.frames.length && cap.frames[0].off + cap.frames[0].pcm.length <= cap.acked) cap.frames.shift();
  state.recorded = m.received / RATE;
  if (m.active) {
    if (cap.awaitingStart) {
      cap.awaitingStart = false;
      cap.active = true;
      cap.sent = m.received;
      const first = cap.frames.length ? cap.frames[0].off : cap.next;
      if (first > m.received) showMsg(T.audio_gap.replace("{n}", ((first - m.received) / RATE).toFixed(1)), true);
      if (state.status === "interrupted") setStatus("recording");
    }
    pump();
  } else {
    cap.active = false;
    cap.awaitingStart = false;
    if (m.reason === "taken_over") {
      // another window (a second tab, the page reloaded) records now: this one stops. What it
      // still held is covered by the other window (which keeps what it captured after this
      // one's last frame arrived); 在此窗口录音 later starts afresh where the session stands.
      // Rejoining after a cut-off, the server says since when the other window records: what
      // this one captured before that reached nobody, and the page says how much
      const uncovered = m.owner_since_ms === undefined ? 0 : held / RATE - m.owner_since_ms / 1000;
      if (uncovered >= 0.5) showMsg(T.handover_lost.replace("{n}", uncovered.toFixed(1)), true);
      stopCapture();
      cap.frames = []; cap.pre = []; cap.next = null; cap.sent = cap.acked = 0;
      state.pausePending = false;
      state.conn = "elsewhere";
      setStatus(state.status);
    } else if (m.reason === "interrupted") {
      if (state.status !== "interrupted") setStatus("interrupted");
      renderRecovery();
    }
  }
  renderConn();
}

// A second window of the same room took over from a window that was still sending (the server
// says how long ago that window's last frame arrived): what this one captured before that moment
// is in the archive already; keep the rest, cutting a frame if it must.
function cutHandover(ms) {
  const cut = performance.now() - ms;
  let dropped = 0;
  while (cap.pre.length) {
    const f = cap.pre[0], begin = f.at - (f.pcm.length / RATE) * 1000;
    if (f.at <= cut) { dropped += f.pcm.length; cap.pre.shift(); continue; }
    if (begin < cut) { const n = Math.round(((cut - begin) * RATE) / 1000); dropped += n; f.pcm = f.pcm.slice(n); }
    break;
  }
  cap.handoverDropped = dropped / RATE;
}

// A connection that takes audio but acknowledges nothing is dead (a network that vanished
// without closing it): drop it and connect again; the buffer still holds everything.
function watchdog() {
  const ws = state.ws;
  if (!ws) return;
  const now = Date.now();
  if (ws.readyState === WebSocket.CONNECTING && now - ws.openedAt > CONNECT_TIMEOUT_MS) return abandon(ws);
  if (ws.readyState === WebSocket.OPEN && cap.active && cap.sent - cap.acked > RATE
      && now - cap.lastAckAt > ACK_TIMEOUT_MS) return abandon(ws);
  if (ws.readyState === WebSocket.OPEN && cap.awaitingStart && now - ws.openedAt > ACK_TIMEOUT_MS + CONNECT_TIMEOUT_MS) abandon(ws);
}

function abandon(ws) {
  ws.onopen = ws.onmessage = ws.onclose = null;
  try { ws.close(); } catch (e) { /* already gone */ }
  if (state.ws === ws) { state.ws = null; cap.active = false; scheduleReconnect(); }
}

function renderConn() {
  const node = $("conn");
  let kind = "idle", text = "";
  const secs = Math.round(buffered() / RATE);
  const wanted = cap.capturing || ["recording", "paused", "stopped", "interrupted"].includes(state.status);
  if (state.conn === "elsewhere") { kind = "elsewhere"; text = T.conn_elsewhere; }
  else if (state.authLost && (!state.ws || state.ws.readyState !== WebSocket.OPEN)) {
    // the login ended (expired, logged out elsewhere): the socket is refused until the user logs
    // in again, in another tab so that what this page holds stays; it reconnects by itself then
    kind = "login"; text = T.conn_login.replace("{n}", secs);
  } else if (wanted && (!state.ws || state.ws.readyState !== WebSocket.OPEN) && state.conn !== "idle") {
    kind = "lost"; text = cap.capturing || secs ? T.conn_lost.replace("{n}", secs) : T.conn_connecting;
  } else if (cap.capturing && cap.active && secs >= 2) { kind = "resending"; text = T.conn_resending.replace("{n}", secs); }
  node.dataset.conn = kind;
  node.textContent = text;
  node.hidden = !text;
  if (state.conn === "elsewhere" && !node.querySelector("button")) {
    node.append(" ", el("button", { type: "button", class: "small", id: "btn-here", onclick: recordHere }, T.record_here));
  }
  if (kind === "login") {
    node.append(" ", el("a", { href: "/login", target: "_blank", rel: "noopener", id: "conn-login" }, T.conn_login_link));
  }
  if (!$("recovery").hidden) renderRecoveryBuffer();
}

// -- the socket ---------------------------------------------------------------------------------
function connect() {
  if (!state.wsPath) return;
  const url = new URL(state.wsPath, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (state.lastSeq) url.searchParams.set("after", state.lastSeq);
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.openedAt = Date.now();
  state.ws = ws;
  state.synced = false;
  if (state.conn === "idle") state.conn = "connecting";
  ws.onopen = () => {
    ws.wasOpen = true;
    state.authLost = false;
    state.reconnectDelay = 500;
    state.conn = "open";
    ws.openedAt = Date.now();
    cap.lastAckAt = Date.now();
    // "start" rejoins the session; this window becomes its audio source when it captures
    if (cap.capturing || buffered() > 0) sendStart(ws);
    else ws.send(JSON.stringify({ op: "watch" }));
    renderConn();
  };
  ws.onmessage = (m) => { if (typeof m.data === "string") onEvent(JSON.parse(m.data)); };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.ws = null;
    cap.active = false;
    cap.awaitingStart = false;
    // a refused handshake looks like a network failure to the page (1006): ask whether the login
    // is still good, so that an ended login is said as such and not as "reconnecting" for ever
    if (!ws.wasOpen) checkLogin();
    scheduleReconnect();
    renderConn();
  };
}

async function checkLogin() {
  try {
    await api("GET", "/api/auth/me");
    state.authLost = false;
  } catch (e) {
    if (e.status === undefined) return;  // the server itself is unreachable: the network case
    state.authLost = e.status === 401;
  }
  renderConn();
}

function sendStart(ws) {
  cap.awaitingStart = true;
  cap.active = false;
  // rejoin: this window recorded here before (a reconnect); if another window took the
  // recording over meanwhile and records, the server leaves it there and says taken_over
  ws.send(JSON.stringify({ op: "start", window: WINDOW_ID, rejoin: cap.next !== null }));
}

function scheduleReconnect() {
  // the engine keeps the session: reconnect and ask for what we missed
  const want = cap.capturing || ["recording", "paused", "interrupted"].includes(state.status)
    || (state.status === "stopped" && !state.finalDone) || buffered() > 0;
  if (!want || state.conn === "elsewhere") return;
  const delay = state.reconnectDelay;
  state.reconnectDelay = Math.min(3000, delay * 2);
  setTimeout(() => { if (!state.ws) connect(); }, delay);
}

// -- capture ------------------------------------------------------------------------------------
// A 16 kHz context: the browser's band-limited resampler does the rate change. A browser that
// cannot feed a microphone into it (Firefox) gets a device-rate context, and the worklet's own
// low-pass resampler does it. The context and its worklet load while the microphone opens.
async function audioContext(opts) {
  const ctx = new AudioContext(opts);
  await ctx.audioWorklet.addModule("/static/pcm-worklet.js");
  return ctx;
}

async function micGraph(stream, ready) {
  let first = null;
  try {
    first = await (ready || audioContext({ sampleRate: 16000 }));
    return { ctx: first, src: first.createMediaStreamSource(stream) };
  } catch (e) {
    if (first) first.close();
    const ctx = await audioContext({});
    return { ctx, src: ctx.createMediaStreamSource(stream) };
  }
}

// one capture per page, however many callers ask at once (a reload starts it before anything)
function ensureCapture() {
  if (!state.capturePromise) state.capturePromise = startCapture().finally(() => { state.capturePromise = null; });
  return state.capturePromise;
}

async function startCapture() {
  if (state.audio) {
    if (state.audio.ctx.state !== "running") await state.audio.ctx.resume();
    cap.capturing = state.audio.ctx.state === "running";
    state.audio.node.port.postMessage({ paused: false });
    return cap.capturing;
  }
  const ready = audioContext({ sampleRate: 16000 });
  ready.catch(() => {}); // a failure shows when micGraph awaits it
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (e) {
    ready.then((ctx) => ctx.close(), () => {});
    throw e;
  }
  const { ctx, src } = await micGraph(stream, ready);
  const node = new AudioWorkletNode(ctx, "pcm-downsampler");
  node.port.onmessage = (e) => {
    if (cap.capturing) meter(Math.min(1, e.data.level * 4));
    onFrame(new Int16Array(e.data.pcm));
  };
  src.connect(node);
  state.audio = { stream, ctx, node };
  // a page reloaded without a click may not start audio (the browser's autoplay rule)
  if (ctx.state !== "running") { try { await Promise.race([ctx.resume(), new Promise((r) => setTimeout(r, 1500))]); } catch (e) { /* below */ } }
  cap.capturing = ctx.state === "running";
  ctx.onstatechange = () => { if (ctx.state !== "running" && cap.capturing) { cap.capturing = false; setStatus(state.status); } };
  if (!cap.capturing) showMsg(T.mic_blocked, true);
  return cap.capturing;
}

function stopCapture() {
  cap.capturing = false;
  if (!state.audio) return;
  state.audio.stream.getTracks().forEach((t) => t.stop());
  state.audio.ctx.close();
  state.audio = null;
  meter(0);
}

function pauseCapture() {
  cap.capturing = false;
  if (state.audio) state.audio.node.port.postMessage({ paused: true });
}

// everything captured reaches the server before Pause or Stop cuts the stream there
async function drain(timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (buffered() > 0 && Date.now() < until) {
    pump();
    if (state.ws && state.ws.readyState === WebSocket.OPEN && cap.active) state.ws.send(JSON.stringify({ op: "sync" }));
    await new Promise((r) => setTimeout(r, 200));
  }
  return buffered() === 0;
}

function finishCapture() {
  stopCapture();
  cap.frames = []; cap.pre = [];
  cap.active = false;
}

// -- the buttons --------------------------------------------------------------------------------
async function record() {
  if (state.pauseInFlight) await state.pauseInFlight.catch(() => {});
  if (state.pausePending) {
    // the pause never reached the server (the connection is down): the server still records,
    // this window simply captured nothing in between; go on where the buffer stands
    state.pausePending = false;
    await ensureCapture();
    setStatus("recording");
    renderConsent();
    return;
  }
  // the microphone starts with the request: what is said meanwhile waits in the buffer, and
  // is sent once the server records again (a paused session drops what arrives)
  const wasCapturing = cap.capturing;
  cap.hold = true;
  const capture = ensureCapture().catch(() => false);
  let r;
  try { r = await api("POST", `/api/hearings/${H.id}/record`); } catch (e) {
    cap.hold = false;
    if (!wasCapturing) { await capture; stopCapture(); cap.pre = []; }
    throw e;
  }
  cap.hold = false;
  state.wsPath = r.websocket;
  state.recorded = (r.engine && r.engine.recorded_seconds) || 0;
  state.conn = state.conn === "elsewhere" ? "open" : state.conn;
  const running = await ensureCapture();
  state.status = "recording";
  if (!state.ws) connect();
  else if (state.ws.readyState === WebSocket.OPEN && running) sendStart(state.ws);
  state.clockTimer = state.clockTimer || setInterval(tick, 500);
  setStatus("recording");
  renderConsent();
}

$("btn-record").addEventListener("click", async () => {
  $("btn-record").disabled = true;
  try { await record(); } catch (e) {
    showMsg((e.name === "NotAllowedError" || e.name === "NotFoundError" ? T.mic_error : "") + e.message, true);
    setStatus(state.status);
  }
});

async function recordHere() {
  state.conn = "open";
  const btn = $("btn-here");
  if (btn) btn.remove();
  try { await record(); } catch (e) { showMsg(e.message, true); }
}

$("btn-continue").addEventListener("click", async () => {
  $("btn-continue").disabled = true;
  try {
    await record();
    $("recovery").hidden = true;
  } catch (e) { showMsg(e.message, true); $("btn-continue").disabled = false; }
});

// 结束 of an interrupted hearing: audio this page still holds goes into the archive first
async function endInterrupted() {
  if (buffered() > 0 && cap.next !== null) {
    await api("POST", `/api/hearings/${H.id}/record`);
    state.status = "recording";
    pauseCapture();
    if (state.ws && state.ws.readyState === WebSocket.OPEN) sendStart(state.ws);
  }
  await stop();
}

$("btn-end").addEventListener("click", async () => {
  $("btn-end").disabled = true;
  try { await endInterrupted(); } catch (e) { showMsg(e.message, true); $("btn-end").disabled = false; }
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const offline = (e) => e.status === undefined; // fetch failed: no answer came

// Pause is off the record from the click: the page captures nothing more at once. The server
// pauses once everything captured before the click has arrived (it drops what arrives while
// paused), so with the connection down the pause waits for it, and the page says so.
$("btn-pause").addEventListener("click", () => {
  pauseCapture();
  state.pausePending = true;
  setStatus("paused");
  renderConsent();
  settlePause();
});

async function settlePause() {
  while (state.pausePending) {
    if (!(await drain(2000)) || !state.pausePending) continue;
    const req = api("POST", `/api/hearings/${H.id}/pause`);
    state.pauseInFlight = req;
    try {
      await req;
      state.pausePending = false;
      showMsg("");
    } catch (e) {
      if (offline(e)) { await sleep(1000); continue; }
      state.pausePending = false;
      showMsg(e.message, true);
    } finally { state.pauseInFlight = null; }
  }
}

// 结束: nothing after the click is recorded, everything before it reaches the archive before
// the hearing closes. With the connection down the page waits for it (saying how much it holds
// and to keep the page open), then stops; after a server restart it ends the interrupted one.
async function stop() {
  pauseCapture();
  state.pausePending = false;
  if (state.pauseInFlight) await state.pauseInFlight.catch(() => {});
  if (buffered() > 0) {
    state.stopPending = true;
    setStatus(state.status);
    try {
      while (!(await drain(2000))) {
        if (state.status === "interrupted") { state.stopPending = false; return endInterrupted(); }
      }
    } finally { state.stopPending = false; }
  }
  for (;;) {
    try { await api("POST", `/api/hearings/${H.id}/stop`); break; } catch (e) {
      if (!offline(e)) { setStatus(state.status); throw e; }
      state.stopPending = true;
      setStatus(state.status);
      await sleep(1000);
    }
  }
  state.stopPending = false;
  showMsg("");
  finishCapture();
  setStatus("stopped");
  renderConsent();
  if (!state.ws) connect(); // the final pass's progress comes on the socket
}

// closing the page while it holds audio the server does not have loses it: the browser asks
addEventListener("beforeunload", (e) => {
  const connected = state.ws && state.ws.readyState === WebSocket.OPEN && cap.active;
  if (state.stopPending || (!connected && buffered() > RATE)) { e.preventDefault(); e.returnValue = ""; }
});

$("btn-stop").addEventListener("click", async () => {
  try { await stop(); } catch (e) { showMsg(e.message, true); }
});

// -- an interrupted hearing -----------------------------------------------------------------------
function renderRecovery() {
  const ev = state.interrupted;
  if (ev) {
    const at = ev.interrupted_at ? new Date(ev.interrupted_at).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false }) : "?";
    $("recovery-text").textContent = T.interrupted_recovered.replace("{at}", at).replace("{n}", Math.round(ev.recovered_seconds || 0));
  }
  renderRecoveryBuffer();
}

function renderRecoveryBuffer() {
  const secs = Math.round(buffered() / RATE);
  const node = $("recovery-buffer");
  node.hidden = !secs;
  node.textContent = secs ? T.buffer_pending.replace("{n}", secs) : "";
}

// -- after 结束: one bar over the whole final pass, then the final transcript ---------------------
// The final pass reports its stages separately (transcribe 0..1, then diarize 0..1; the offline
// diarizer says only "started" and "done"). The bar joins them: transcription is measured, the
// diarization's share is estimated from how long transcription took (DIARIZE_PER_TRANSCRIBE:
// diarize/transcribe time 1.29-2.71, median 1.42, over 7 final passes of 30-76 s hearings in
// tests/test_browser_recovery.py on a shared 2-core machine, whisper-base + the offline
// diarizer), and it never goes back. Past the estimate the bar creeps towards 97 % and says it
// is still estimating, rather than lie.
const DIARIZE_PER_TRANSCRIBE = 1.5;
const finalProgress = {
  t0: null, tEnd: null, dStart: null, shown: 0,
  start(ev) { this.t0 = ev.emitted_at || Date.now() / 1000; this.tEnd = null; this.dStart = null; this.shown = 0; this.render(0, null); },
  update(ev) {
    if (this.t0 === null) this.t0 = ev.emitted_at || Date.now() / 1000;
    const now = ev.emitted_at || Date.now() / 1000;
    if (ev.stage === "transcribe") {
      const took = now - this.t0;
      const total = ev.fraction > 0.02 ? took / ev.fraction : null; // s for the whole transcription
      const share = 1 / (1 + DIARIZE_PER_TRANSCRIBE);
      const left = total === null ? null : total * (1 - ev.fraction) + total * DIARIZE_PER_TRANSCRIBE;
      if (ev.fraction >= 1) this.tEnd = now;
      this.render(ev.fraction * share, left);
    } else if (ev.stage === "diarize") {
      if (ev.fraction <= 0) this.dStart = now;
      if (this.tEnd === null) this.tEnd = now;
      this.tick(now, ev.fraction >= 1);
    }
  },
  tick(now, finished) {
    if (this.tEnd === null || this.t0 === null) return;
    const share = 1 / (1 + DIARIZE_PER_TRANSCRIBE);
    if (finished) return this.render(0.99, 0);
    const expected = (this.tEnd - this.t0) * DIARIZE_PER_TRANSCRIBE;
    const spent = now - (this.dStart || this.tEnd);
    // past the estimate the bar creeps towards 99 % and says it is still estimating
    const f = expected > 0 ? Math.min(0.97, spent / expected) : 0.5;
    this.render(share + (1 - share) * f, spent < expected ? expected - spent : null);
  },
  render(f, left) {
    $("final-progress").hidden = false;
    this.shown = Math.max(this.shown, Math.min(1, f)); // monotonic
    $("final-progress-bar").style.width = (this.shown * 100).toFixed(1) + "%";
    $("final-progress-bar").dataset.fraction = this.shown.toFixed(3);
    $("final-progress-text").textContent = `${Math.round(this.shown * 100)}% · ` +
      (left === null ? T.final_eta_unknown : T.final_eta.replace("{n}", Math.max(1, Math.round(left))));
  },
  done() {
    this.shown = 1;
    $("final-progress").hidden = true;
  },
  fail() { $("final-progress-text").textContent = T.final_failed; },
};
setInterval(() => { if (finalProgress.tEnd !== null && state.sessionState === "finalizing") finalProgress.tick(Date.now() / 1000, false); }, 1000);

function renderTranscript(tr) {
  const final = !!(tr.info && tr.info.kind === "final");
  state.partials = {};
  const box = $("transcript");
  box.replaceChildren(...(tr.segments || []).map((s, i) => segNode({ ...s, utterance: "t" + i, id: s.id || "t" + i }, true)));
  box.dataset.kind = final ? "final" : "live";
  $("transcript-title").hidden = !final;
  if (final) state.finalShown = true;
  renderSpeakers();
  return final;
}

async function showFinalTranscript() {
  try {
    const tr = await api("GET", `/api/hearings/${H.id}/transcript`);
    if (!tr.info || tr.info.kind !== "final") return;
    Object.assign(state.speakers, tr.speakers || {});
    renderTranscript(tr);
    showMsg(T.final_ready);
  } catch (e) { showMsg(e.message, true); }
}

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
      headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": PAGE.csrf, "X-Page-Lang": PAGE.lang || "zh" }, body: pcm.buffer,
    });
    const data = await res.json();
    box.textContent = res.ok ? `${T.saved} (${data.speech_seconds} s)` : errorText(data, res.status);
  } catch (e) { box.textContent = T.mic_error + e.message; }
});


// -- opening the page --------------------------------------------------------------------------
// A reload or a second window joins what the hearing is doing: the journal's events come back
// over the socket (the transcript so far), a recording hearing is captured here again at once,
// an interrupted one offers 继续录音 / 结束, a finished one shows its final transcript.
async function open() {
  renderConsent();
  setStatus(H.status);
  state.clockTimer = setInterval(tick, 500);
  if (!H.live_session_id || H.status === "created") return;
  state.wsPath = `/ws/sessions/${encodeURIComponent(H.live_session_id)}`;
  if (H.status === "recording") {
    // reloaded (or a second window) in the middle of the hearing: the microphone first, every
    // moment of it counts; the frames wait in the buffer until the server says where they go
    const capture = ensureCapture().catch(() => false);
    try { await record(); } catch (e) { showMsg(T.mic_error + e.message, true); await capture; setStatus(state.status); }
    return;
  }
  let live = {};
  try { live = await api("GET", `/api/hearings/${H.id}/live`); } catch (e) { /* shown below as not capturing */ }
  state.recorded = live.recorded_seconds || live.duration || 0;
  if (H.status === "interrupted") {
    state.interrupted = { interrupted_at: live.interrupted_at, recovered_seconds: live.recovered_seconds };
    renderRecovery();
  }
  if (["paused", "interrupted"].includes(H.status)) { connect(); return; } // the journal's text, live after
  // recording is over: the transcript as it stands (the final one when ready); the socket only
  // for the final pass's progress (its replayed text would repeat what is shown)
  try {
    const tr = await api("GET", `/api/hearings/${H.id}/transcript`);
    Object.assign(state.speakers, tr.speakers || {});
    renderTranscript(tr);
  } catch (e) { showMsg(e.message, true); }
  if (live.state === "finished" || live.final_ready) { state.finalDone = true; return; }
  state.textShown = true;
  if (live.state) connect();
}
open();
