"""Staff corrections of a hearing's transcript, kept beside the recogniser's original.

The recogniser's transcript (the live session's ``final.json`` or live text) is never written
to. Corrections live in ``Hearing.corrections`` as a list of *turns*; each turn is made of
*pieces* ``[segment, first char, end char]`` of the original segments' texts, so the original
words, their times and their probabilities are always found again, and carries what staff
changed: its text (``None``: as recognised) and its speaker label (``None``: as recognised).
Splitting a turn splits its pieces, merging joins them; a line retyped keeps its pieces, and
its words' times are carried over to the new text by aligning it with the original
(``difflib``), so a corrected line still plays from the word clicked.

Stored shape (``Hearing.corrections``)::

    {"turns": [{"id": "t3", "pieces": [[3, 0, 17]], "text": "...", "speaker": "S2",
                "by": "王调解员", "at": "2026-12-01T10:00:00+00:00"}],
     "log": [{"op": "text", "turn": "t3", "before": "...", "after": "...", "by": ..., "at": ...}],
     "basis": "<hash of the segments the pieces point into>", "next": 12}

A hearing corrected before this shape existed holds ``{"<segment index>": {"original", "text",
"by", "at"}}``; it is read as one turn per segment with those texts.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from scribe.errors import ScribeError, SessionError

# A word the recogniser gave less than even odds is more likely wrong than right by its own
# estimate: that is the line between "sure" and "unsure", not a value tuned on any file.
UNSURE_BELOW = 0.5
UNRECOGNISED_TEXT = "【未能识别】"
MAX_LOG = 2000  # the log keeps the latest edits; every edit is also in the audit trail


@dataclass(frozen=True)
class Token:
    """One clickable piece of a line: a word with its times, or punctuation (no times)."""

    text: str
    start: float | None
    end: float | None
    probability: float | None
    edited: bool

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": self.text}
        if self.start is not None:
            out["s"], out["e"] = round(self.start, 3), round(self.end or self.start, 3)
        if self.probability is not None:
            out["p"] = round(self.probability, 3)
            if self.probability < UNSURE_BELOW and not self.edited:
                out["unsure"] = True
        if self.edited:
            out["edited"] = True
        return out


def basis_of(segments: Sequence[Mapping[str, Any]]) -> str:
    digest = hashlib.sha256()
    for s in segments:
        digest.update(str(s.get("text", "")).encode("utf-8") + b"\x00")
    return digest.hexdigest()[:16]


# -- reading the stored state --------------------------------------------------------------
def _fresh_turns(segments: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": f"t{i}", "pieces": [[i, 0, len(str(s.get("text", "")))]], "text": None, "speaker": None}
            for i, s in enumerate(segments)]  # fmt: skip


def state_of(corrections: Mapping[str, Any] | None, segments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The stored corrections as turns (a copy: callers change it and store it back)."""
    corrections = corrections or {}
    if "turns" in corrections:
        return copy.deepcopy(dict(corrections))
    turns = _fresh_turns(segments)
    log: list[dict[str, Any]] = []
    for key, fix in sorted(corrections.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else -1):
        if str(key).isdigit() and int(key) < len(turns) and isinstance(fix, Mapping):
            t = turns[int(key)]
            t.update(text=fix.get("text"), by=fix.get("by"), at=fix.get("at"))
            log.append({"op": "text", "turn": t["id"], "before": fix.get("original"), "after": fix.get("text"),
                        "by": fix.get("by"), "at": fix.get("at")})
    return {"turns": turns, "log": log, "basis": basis_of(segments), "next": len(turns)}


def _seg_text(segments: Sequence[Mapping[str, Any]], i: int) -> str:
    return str(segments[i].get("text", "")) if 0 <= i < len(segments) else ""


def original_text(turn: Mapping[str, Any], segments: Sequence[Mapping[str, Any]]) -> str:
    return "".join(_seg_text(segments, s)[a:b] for s, a, b in turn["pieces"])


def current_text(turn: Mapping[str, Any], segments: Sequence[Mapping[str, Any]]) -> str:
    return turn["text"] if turn.get("text") is not None else original_text(turn, segments)


# -- words to characters -------------------------------------------------------------------
def _char_words(segment: Mapping[str, Any]) -> list[int | None]:
    """For each character of the segment's text, the index of the word it belongs to (None:
    punctuation and anything else the words do not carry). Words and text are aligned, not
    assumed equal: the text is typeset (punctuation, Simplified), the words are as decoded."""
    text = str(segment.get("text", ""))
    words = segment.get("words") or []
    flat: list[int] = []
    joined = []
    for wi, w in enumerate(words):
        for ch in str(w.get("word", "")):
            if not ch.isspace():
                joined.append(ch)
                flat.append(wi)
    out: list[int | None] = [None] * len(text)
    matcher = SequenceMatcher(None, "".join(joined), text, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            out[b + k] = flat[a + k]
    return out


@dataclass(frozen=True)
class _Char:
    ch: str
    word: tuple[int, int] | None  # (segment, word index)


def _original_chars(turn: Mapping[str, Any], segments: Sequence[Mapping[str, Any]],
                    cache: dict[int, list[int | None]]) -> list[_Char]:
    chars: list[_Char] = []
    for s, a, b in turn["pieces"]:
        if not 0 <= s < len(segments):
            continue
        if s not in cache:
            cache[s] = _char_words(segments[s])
        text = _seg_text(segments, s)
        for k in range(a, min(b, len(text))):
            w = cache[s][k]
            chars.append(_Char(text[k], (s, w) if w is not None else None))
    return chars


def _word(segments: Sequence[Mapping[str, Any]], ref: tuple[int, int]) -> Mapping[str, Any]:
    s, w = ref
    return (segments[s].get("words") or [])[w]


def tokens(turn: Mapping[str, Any], segments: Sequence[Mapping[str, Any]],
           cache: dict[int, list[int | None]] | None = None) -> list[Token]:
    """The turn's current text as clickable tokens. Characters kept from the original keep
    their word's times and probability; typed ones take the times of what they replaced."""
    cache = {} if cache is None else cache
    orig = _original_chars(turn, segments, cache)
    text = current_text(turn, segments)
    # per character of the current text: (word ref or None, edited, span of times if typed)
    per: list[tuple[tuple[int, int] | None, bool, tuple[float, float] | None]] = []
    matcher = SequenceMatcher(None, "".join(c.ch for c in orig), text, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            per.extend((orig[i1 + k].word, False, None) for k in range(j2 - j1))
        elif op in ("replace", "insert"):
            refs = [c.word for c in orig[i1:i2] if c.word is not None]
            if not refs:  # an insertion: the time where it was typed (the word before it)
                before = [c.word for c in orig[:i1] if c.word is not None]
                after = [c.word for c in orig[i2:] if c.word is not None]
                refs = before[-1:] or after[:1]
            span = None
            if refs:
                ws = [_word(segments, r) for r in refs]
                span = (float(min(w["start"] for w in ws)), float(max(w["end"] for w in ws)))
            per.extend((None, True, span) for _ in range(j2 - j1))
    out: list[Token] = []
    k = 0
    while k < len(text):
        ref, edited, span = per[k]
        j = k + 1
        while j < len(text) and per[j] == per[k] and (ref is not None or edited):
            j += 1
        piece = text[k:j]
        if ref is not None:
            w = _word(segments, ref)
            prob = w.get("probability")
            out.append(Token(piece, float(w["start"]), float(w["end"]), None if prob is None else float(prob), False))
        elif edited:
            out.append(Token(piece, span[0] if span else None, span[1] if span else None, None, True))
        else:
            out.append(Token(piece, None, None, None, False))
        k = j
    return out


def _span(turn: Mapping[str, Any], segments: Sequence[Mapping[str, Any]], toks: Sequence[Token]) -> tuple[float, float]:
    """Start and end of a turn: its segments' own times where a piece covers a segment's
    start or end, its words' times where a split cut inside one."""
    starts, ends = [], []
    for s, a, b in turn["pieces"]:
        if not 0 <= s < len(segments):
            continue
        seg = segments[s]
        if a == 0:
            starts.append(float(seg.get("start", 0.0)))
        if b >= len(_seg_text(segments, s)):
            ends.append(float(seg.get("end", 0.0)))
    timed = [t for t in toks if t.start is not None]
    if not starts:
        starts = [timed[0].start] if timed else [0.0]  # type: ignore[list-item]
    if not ends:
        ends = [timed[-1].end] if timed else starts  # type: ignore[list-item]
    return min(starts), max(ends)


def effective_speaker(turn: Mapping[str, Any], segments: Sequence[Mapping[str, Any]]) -> str | None:
    if turn.get("speaker"):
        return str(turn["speaker"])
    for s, _, _ in turn["pieces"]:
        if 0 <= s < len(segments) and segments[s].get("speaker"):
            return str(segments[s]["speaker"])
    return None


def _original_speaker(turn: Mapping[str, Any], segments: Sequence[Mapping[str, Any]]) -> str | None:
    return effective_speaker({**turn, "speaker": None}, segments)


def _unrecognised(turn: Mapping[str, Any], segments: Sequence[Mapping[str, Any]]) -> bool:
    return turn.get("text") is None and any(
        0 <= s < len(segments) and segments[s].get("unrecognised") for s, _, _ in turn["pieces"])


def view(corrections: Mapping[str, Any] | None, segments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the review page shows: every turn with its tokens, times, speaker and original."""
    state = state_of(corrections, segments)
    cache: dict[int, list[int | None]] = {}
    out = []
    for t in state["turns"]:
        toks = tokens(t, segments, cache)
        start, end = _span(t, segments, toks)
        orig = original_text(t, segments)
        spk, orig_spk = effective_speaker(t, segments), _original_speaker(t, segments)
        out.append({
            "id": t["id"], "start": round(start, 3), "end": round(end, 3), "speaker": spk,
            "text": current_text(t, segments), "original": orig, "edited": t.get("text") is not None and t["text"] != orig,
            "original_speaker": orig_spk, "speaker_changed": spk != orig_spk,
            "unrecognised": _unrecognised(t, segments), "tokens": [k.to_dict() for k in toks],
            "by": t.get("by"), "at": t.get("at"),
        })  # fmt: skip
    stale = "turns" in (corrections or {}) and state.get("basis") != basis_of(segments)
    return {"turns": out, "stale": stale, "unsure_below": UNSURE_BELOW, "log": state.get("log", [])[-50:]}


# -- edits ----------------------------------------------------------------------------------
def _find(state: Mapping[str, Any], turn_id: str) -> int:
    for k, t in enumerate(state["turns"]):
        if t["id"] == turn_id:
            return k
    raise TurnNotFound(turn_id)


class TurnNotFound(ScribeError):
    """The page named a turn that is not there (another reviewer split or merged it)."""

    def __init__(self, turn_id: str) -> None:
        super().__init__(f"记录中没有第 {turn_id} 段", fix="刷新页面后重试")


def _log(state: dict[str, Any], entry: dict[str, Any], by: str, at: str) -> None:
    state.setdefault("log", []).append({**entry, "by": by, "at": at})
    del state["log"][:-MAX_LOG]


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def edit_text(state: dict[str, Any], segments: Sequence[Mapping[str, Any]], turn_id: str, text: str,
              *, by: str, at: str) -> tuple[str, str]:
    """A line retyped; returns (before, after). Typing the original back undoes the change."""
    t = state["turns"][_find(state, turn_id)]
    before, after = current_text(t, segments), _clean(text)
    if not after:
        raise SessionError("更正后的内容不能为空", fix="如这段话应删除，请写明“（无关内容）”或与前后段合并")
    if after == before:
        return before, after
    t["text"] = None if after == original_text(t, segments) else after
    t["by"], t["at"] = by, at
    _log(state, {"op": "text", "turn": turn_id, "before": before, "after": after}, by, at)
    return before, after


def set_speaker(state: dict[str, Any], segments: Sequence[Mapping[str, Any]], turn_id: str, label: str,
                *, by: str, at: str) -> None:
    t = state["turns"][_find(state, turn_id)]
    before = effective_speaker(t, segments)
    t["speaker"] = None if label == _original_speaker(t, segments) else label
    t["by"], t["at"] = by, at
    _log(state, {"op": "speaker", "turn": turn_id, "before": before, "after": label}, by, at)


def _cut_pieces(pieces: Sequence[Sequence[int]], offset: int) -> tuple[list[list[int]], list[list[int]]]:
    left: list[list[int]] = []
    right: list[list[int]] = []
    seen = 0
    for s, a, b in pieces:
        n = b - a
        if seen + n <= offset:
            left.append([s, a, b])
        elif seen >= offset:
            right.append([s, a, b])
        else:
            cut = a + (offset - seen)
            left.append([s, a, cut])
            right.append([s, cut, b])
        seen += n
    return left, right


def _orig_offset(orig: str, text: str, at: int) -> int:
    """Where in the original text the ``at``-th character of the current text stands."""
    for op, i1, i2, j1, j2 in SequenceMatcher(None, orig, text, autojunk=False).get_opcodes():
        if j1 <= at < j2 or (at == j2 and op == "equal"):
            return i1 + (at - j1) if op == "equal" else i1
    return len(orig)


def split(state: dict[str, Any], segments: Sequence[Mapping[str, Any]], turn_id: str, at: int,
          *, by: str, at_time: str) -> str:
    """Cut a turn in two before its ``at``-th character; returns the new second turn's id."""
    k = _find(state, turn_id)
    t = state["turns"][k]
    text = current_text(t, segments)
    if not 0 < at < len(text):
        raise SessionError("只能在一段话的中间分段", fix="把光标放在要分开的两个字之间")
    orig = original_text(t, segments)
    left_p, right_p = _cut_pieces(t["pieces"], _orig_offset(orig, text, at))
    if not left_p or not right_p or not sum(b - a for _, a, b in left_p) or not sum(b - a for _, a, b in right_p):
        raise SessionError("这里没有可分开的原始录音", fix="在原有文字之间分段")
    edited = t.get("text") is not None
    new_id = f"t{state.get('next', len(state['turns']))}"
    state["next"] = int(new_id[1:]) + 1
    first = {**t, "pieces": left_p, "text": _clean(text[:at]) if edited else None, "by": by, "at": at_time}
    second = {**t, "id": new_id, "pieces": right_p, "text": _clean(text[at:]) if edited else None, "by": by, "at": at_time}
    state["turns"][k:k + 1] = [first, second]
    _log(state, {"op": "split", "turn": turn_id, "new": new_id, "before": text, "after": [text[:at], text[at:]]}, by, at_time)
    return new_id


def _join_pieces(pieces: Iterable[Sequence[int]]) -> list[list[int]]:
    out: list[list[int]] = []
    for s, a, b in pieces:
        if out and out[-1][0] == s and out[-1][2] == a:
            out[-1][2] = b
        else:
            out.append([s, a, b])
    return out


def merge_with_previous(state: dict[str, Any], segments: Sequence[Mapping[str, Any]], turn_id: str,
                        *, by: str, at: str) -> str:
    """Join a turn onto the one before it (the earlier turn's speaker stays); returns its id."""
    k = _find(state, turn_id)
    if k == 0:
        raise SessionError("第一段之前没有可合并的段落", fix="选择要并入上一段的那一段")
    prev, cur = state["turns"][k - 1], state["turns"][k]
    edited = prev.get("text") is not None or cur.get("text") is not None
    joined = current_text(prev, segments) + current_text(cur, segments)
    merged = {**prev, "pieces": _join_pieces([*prev["pieces"], *cur["pieces"]]), "by": by, "at": at,
              "text": joined if edited else None}
    if merged["text"] is not None and merged["text"] == original_text(merged, segments):
        merged["text"] = None
    state["turns"][k - 1:k + 1] = [merged]
    _log(state, {"op": "merge", "turn": prev["id"], "merged": turn_id,
                 "before": [current_text(prev, segments), current_text(cur, segments)], "after": joined}, by, at)
    return str(prev["id"])


def count(state: Mapping[str, Any], segments: Sequence[Mapping[str, Any]], find: str) -> int:
    return sum(current_text(t, segments).count(find) for t in state["turns"]) if find else 0


def replace_all(state: dict[str, Any], segments: Sequence[Mapping[str, Any]], find: str, replace: str,
                *, by: str, at: str) -> tuple[int, list[str]]:
    """Every occurrence of ``find`` in the current text becomes ``replace``; returns how many
    and in which turns."""
    if not find.strip():
        raise SessionError("请输入要查找的文字", fix="在“查找”框中输入错字")
    n, touched = 0, []
    for t in state["turns"]:
        text = current_text(t, segments)
        hits = text.count(find)
        if not hits:
            continue
        new = text.replace(find, replace)
        if not _clean(new):
            raise SessionError(f"替换后第 {t['id']} 段将没有内容", fix="换一个替换内容，或逐段更正")
        t["text"] = None if new == original_text(t, segments) else new
        t["by"], t["at"] = by, at
        n += hits
        touched.append(str(t["id"]))
    if n:
        _log(state, {"op": "replace", "find": find, "replace": replace, "count": n, "turns": touched}, by, at)
    return n, touched


def corrected_segments(corrections: Mapping[str, Any] | None, segments: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The transcript's segments as staff left them, for drafting: one segment per turn with
    its current text and speaker; a turn kept as recognised keeps its words."""
    if not corrections:
        return [dict(s) for s in segments]
    state = state_of(corrections, segments)
    cache: dict[int, list[int | None]] = {}
    out = []
    for t in state["turns"]:
        toks = tokens(t, segments, cache)
        start, end = _span(t, segments, toks)
        whole = len(t["pieces"]) == 1 and t["pieces"][0][1] == 0 and \
            t["pieces"][0][2] >= len(_seg_text(segments, t["pieces"][0][0]))
        src = segments[t["pieces"][0][0]] if t["pieces"] and 0 <= t["pieces"][0][0] < len(segments) else {}
        seg: dict[str, Any] = {**src, "start": start, "end": end, "speaker": effective_speaker(t, segments),
                               "text": current_text(t, segments)}
        if not (whole and t.get("text") is None):
            seg["words"] = []  # the words were of other text: the drafter quotes the text
            seg.pop("unrecognised", None) if t.get("text") is not None else None
        out.append(seg)
    return out


def by_segment(corrections: Mapping[str, Any] | None, segments: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The corrections in the shape of ``GET /transcript`` (version 1 of this API): per original
    segment index, the retyped text of a turn that is that whole segment. Split and merged
    turns are only in ``GET /transcript/turns``."""
    if not corrections:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for t in state_of(corrections, segments)["turns"]:
        if t.get("text") is None or len(t["pieces"]) != 1:
            continue
        s, a, b = t["pieces"][0]
        if a == 0 and b >= len(_seg_text(segments, s)):
            out[str(s)] = {"original": original_text(t, segments), "text": t["text"], "by": t.get("by"), "at": t.get("at")}
    return out
