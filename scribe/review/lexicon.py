"""The office's lexicon: names, places and terms its reviewers had to type in, which become
hotwords of the office's later hearings (the live decodes and the final pass).

What is learnt is decided by structure, not by a list of phrases: from a correction (a line
retyped, a find-and-replace), the words typed in are found by aligning the text before and
after; such a word is learnt when it is one of the people of the hearing (a party's, a staff
member's or a named speaker's name) or when the recogniser never wrote it anywhere in the
hearing and the segmenter (jieba) takes it for a proper noun (person, place, organisation,
other proper noun) or does not know it as a word at all. A common word typed over a wrong one
("一部分" -> "一半") is a known jieba word of another class and is not learnt.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from scribe.errors import SessionError
from scribe.storage import Base, utcnow

KINDS = ("name", "place", "term")
# faster-whisper keeps the first ~223 tokens of the hotwords text; the hearing's own names come
# first, so the office's words are the rest, the most used first, and never crowd them out.
MAX_OFFICE_HOTWORDS = 40
_PROPER = {"nr": "name", "nrfg": "name", "nrt": "name", "ns": "place", "nt": "term", "nz": "term"}
_WORDLIKE = re.compile(r"^[\u3400-\u9fffA-Za-z0-9·]{2,16}$")


class LexiconEntry(Base):
    """One word of an office's lexicon."""

    __tablename__ = "lexicon_entries"
    __table_args__ = (UniqueConstraint("office", "word"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office: Mapped[str] = mapped_column(String(128), index=True)
    word: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8), default="term")  # name | place | term
    source: Mapped[str] = mapped_column(String(16), default="correction")  # correction | admin
    hits: Mapped[int] = mapped_column(Integer, default=1)  # times reviewers typed it in
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    hearing_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # where it was first learnt
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "office": self.office, "word": self.word, "kind": self.kind, "source": self.source,
                "hits": self.hits, "enabled": self.enabled, "hearing_id": self.hearing_id,
                "created_by": self.created_by, "created_at": self.created_at.isoformat()}  # fmt: skip


@dataclass(frozen=True)
class Learnt:
    word: str
    kind: str


# -- deciding what a correction teaches ----------------------------------------------------
def _changed(before: str, after: str) -> list[tuple[int, int]]:
    """The stretches of ``after`` typed over or into ``before``."""
    return [(j1, j2) for op, _, _, j1, j2 in SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
            if op in ("replace", "insert")]


def typed_in(before: str, after: str) -> list[tuple[str, str]]:
    """The words of ``after`` (jieba, read in their sentence) that hold typed characters, with
    jieba's word class."""
    import jieba.posseg as pseg

    spans = _changed(before, after)
    out, pos = [], 0
    for w in pseg.cut(after, HMM=True):
        a, b = pos, pos + len(w.word)
        pos = b
        if any(a < j2 and b > j1 for j1, j2 in spans):
            out.append((w.word, w.flag))
    return list(dict.fromkeys(out))


def learnable(before: str, after: str, *, people: Iterable[str], recognised: str) -> list[Learnt]:
    """What a correction from ``before`` to ``after`` teaches the office.

    ``people``: the hearing's party, staff and speaker names; ``recognised``: all the text the
    recogniser wrote for this hearing. A person's name counts when a typed character falls
    inside it; any other word when jieba reads it as a proper noun in its sentence and the
    recogniser never wrote it in this hearing."""
    spans = _changed(before, after)
    out: list[Learnt] = []
    for name in sorted({p.strip() for p in people if p and len(p.strip()) >= 2}, key=len, reverse=True):
        for m in re.finditer(re.escape(name), after):
            if any(m.start() < j2 and m.end() > j1 for j1, j2 in spans):
                out.append(Learnt(name, "name"))
                break
    taken = "".join(item.word for item in out)
    for word, flag in typed_in(before, after):
        kind = _PROPER.get(flag)
        if kind is None or not _WORDLIKE.match(word) or word in recognised or word in taken:
            continue
        out.append(Learnt(word, kind))
    return list(dict.fromkeys(out))


# -- storing and reading -------------------------------------------------------------------
def learn(tx: Session, office: str, learnt: Sequence[Learnt], *, by: str, hearing_id: str | None = None) -> list[LexiconEntry]:
    out = []
    for item in learnt:
        entry = tx.scalar(select(LexiconEntry).where(LexiconEntry.office == office, LexiconEntry.word == item.word))
        if entry is None:
            entry = LexiconEntry(office=office, word=item.word, kind=item.kind, source="correction", hits=1,
                                 enabled=True, hearing_id=hearing_id, created_by=by)
            tx.add(entry)
        else:
            entry.hits += 1
        out.append(entry)
    tx.flush()
    return out


def office_hotwords(tx: Session, office: str, limit: int = MAX_OFFICE_HOTWORDS) -> list[str]:
    """The office's words for a new recording: enabled ones, the most typed first."""
    rows = tx.scalars(
        select(LexiconEntry.word).where(LexiconEntry.office == office, LexiconEntry.enabled.is_(True))
        .order_by(LexiconEntry.hits.desc(), LexiconEntry.updated_at.desc()).limit(limit)
    )
    return list(rows)


def entries(tx: Session, office: str | None) -> list[LexiconEntry]:
    q = select(LexiconEntry).order_by(LexiconEntry.office, LexiconEntry.hits.desc(), LexiconEntry.word)
    if office is not None:
        q = q.where(LexiconEntry.office == office)
    return list(tx.scalars(q))


def _check(word: str, kind: str) -> str:
    word = word.strip()
    if not word or len(word) > 64:
        raise SessionError("词语须为1至64个字", fix="输入人名、地名或术语本身")
    if kind not in KINDS:
        raise SessionError(f"未知的词语类别“{kind}”", fix="选择人名、地名或术语")
    return word


def add(tx: Session, office: str, word: str, kind: str, *, by: str) -> LexiconEntry:
    word = _check(word, kind)
    if tx.scalar(select(LexiconEntry).where(LexiconEntry.office == office, LexiconEntry.word == word)) is not None:
        raise SessionError(f"词库中已有“{word}”", fix="在列表中修改该词")
    entry = LexiconEntry(office=office, word=word, kind=kind, source="admin", hits=1, enabled=True, created_by=by)
    tx.add(entry)
    tx.flush()
    return entry


def change(tx: Session, entry: LexiconEntry, *, word: str | None, kind: str | None, enabled: bool | None) -> None:
    new_word = _check(word if word is not None else entry.word, kind if kind is not None else entry.kind)
    if new_word != entry.word and tx.scalar(
            select(LexiconEntry).where(LexiconEntry.office == entry.office, LexiconEntry.word == new_word)) is not None:
        raise SessionError(f"词库中已有“{new_word}”", fix="删除其中一个")
    entry.word = new_word
    if kind is not None:
        entry.kind = kind
    if enabled is not None:
        entry.enabled = enabled
    tx.flush()


# -- deleting a hearing, erasing a party (scribe.privacy) -----------------------------------
# A name learnt from a hearing's corrections is personal data of whoever bears it (PIPL Art. 4):
# it goes with the hearing it was learnt from, and with the party who bears it. Places and terms
# are the office's vocabulary and stay (without the link to a deleted hearing).
def forget_hearing(tx: Session, office: str, hearing_id: str, identifying: Iterable[str]) -> int:
    """Before a hearing is deleted: the names learnt first from its corrections, and any word
    learnt from it that holds (or is part of) one of its parties' identifying strings (name, ID
    number, phone, address), are removed; its other words stay, no longer linked to it.
    Returns how many were removed."""
    strings = [s for s in identifying if len(s) >= 2]
    removed = 0
    for entry in tx.scalars(select(LexiconEntry).where(LexiconEntry.office == office,
                                                       LexiconEntry.hearing_id == hearing_id)):
        if entry.kind == "name" or any(s in entry.word or entry.word in s for s in strings):
            tx.delete(entry)
            removed += 1
        else:
            entry.hearing_id = None
    tx.flush()
    return removed


def forget_party(tx: Session, office: str, hearing_id: str, identifying: Iterable[str]) -> int:
    """When a party is erased: every word of the office's lexicon that holds one of the party's
    identifying strings (learnt or added by an admin, from any hearing), and the words learnt
    from this hearing that are part of one (a piece of the address). Returns how many."""
    strings = [s for s in identifying if len(s) >= 2]
    if not strings:
        return 0
    removed = 0
    for entry in tx.scalars(select(LexiconEntry).where(LexiconEntry.office == office)):
        own = entry.hearing_id == hearing_id
        if any(s in entry.word or (own and entry.word in s) for s in strings):
            tx.delete(entry)
            removed += 1
    tx.flush()
    return removed
