// The office lexicon on the admin page: words reviewers taught it (and words added here),
// each switched on or off, renamed, reclassified or removed. Later recordings use them as hotwords.
"use strict";
(function lexiconAdmin() {
  const $ = (id) => document.getElementById(id);
  const say = (text, bad) => { $("lexicon-msg").textContent = text || ""; $("lexicon-msg").classList.toggle("error", !!bad); };
  const kinds = ["name", "place", "term"];
  async function change(id, body) {
    try { await api("PATCH", `/api/lexicon/${id}`, body); say(T.saved); load(); } catch (e) { say(e.message, true); }
  }
  function row(e) {
    const word = el("input", { value: e.word, maxlength: 64, "data-lex-word": e.id, "aria-label": T.lex_word });
    word.addEventListener("change", () => change(e.id, { word: word.value }));
    const kind = el("select", { "data-lex-kind": e.id, "aria-label": T.lex_kind },
      ...kinds.map((k) => el("option", { value: k, selected: k === e.kind }, T["lex_kind_" + k])));
    kind.addEventListener("change", () => change(e.id, { kind: kind.value }));
    const on = el("input", { type: "checkbox", checked: e.enabled, "data-lex-enabled": e.id, "aria-label": T.lex_enabled });
    on.addEventListener("change", () => change(e.id, { enabled: on.checked }));
    const del = el("button", { type: "button", class: "link", "data-lex-delete": e.id, onclick: async () => {
      try { await api("DELETE", `/api/lexicon/${e.id}`); load(); } catch (err) { say(err.message, true); } } }, T.remove);
    return el("tr", { "data-lex": e.word }, el("td", {}, word), el("td", {}, kind), el("td", {}, e.office),
      el("td", {}, T["lex_source_" + e.source] || e.source), el("td", {}, String(e.hits)), el("td", {}, on), el("td", {}, del));
  }
  async function load() {
    let list = [];
    try { list = await api("GET", "/api/lexicon"); } catch (e) { say(e.message, true); }
    const body = document.querySelector("#lexicon-table tbody");
    body.replaceChildren(...(list.length ? list.map(row) : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, T.lex_empty))]));
  }
  $("lexicon-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const office = $("lex-office").value.trim();
    try {
      await api("POST", "/api/lexicon", { word: $("lex-word").value.trim(), kind: $("lex-kind").value, office: office || null });
      ev.target.reset(); say(T.saved); load();
    } catch (e) { say(e.message, true); }
  });
  load();
})();
