"""Erasing one party's personal data from a hearing's records (PIPL Art. 47: the person asks,
or the purpose is met for that person while the record of the case must stay).

The party keeps their place (role, party id) under a placeholder name, 〔当事人N·已删除〕; their
other fields are blanked. Their identifying strings — name, ID number, phones, address — are
replaced wherever the hearing's records hold them: the hearing (party list, searchable names,
hotwords, speaker names, consent records, transcript corrections), every document's fields and
saved drafts (``draft.json``, ``transcript.json`` of each version), the live session's
transcripts, journal and ``session.json``, and the webhook messages about the hearing. The
rendered .docx/PDF files are removed (they print the name) and are rendered again from the
erased draft when next downloaded; download links of the hearing's documents are revoked.

Not touched: the recording itself (a voice cannot be cut out of it: delete the hearing or purge
its audio for that) and what case systems already received (the office asks them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal
from scribe.delivery.models import Delivery, DeliveryBody, OutboxMessage
from scribe.delivery.scope import revoke_document_links
from scribe.errors import SessionError
from scribe.privacy.files import remove_tracked, session_folder, track
from scribe.settings import Settings
from scribe.storage import Database
from scribe.web.models import Hearing

PLACEHOLDER = "〔已删除〕"
KEEP_KEYS = frozenset({"id", "role", "party_id", "kind"})  # the party's place in the case, not who they are
# Keys whose value identifies the person wherever it is written (replaced everywhere as text);
# other fields (gender, ethnicity, age, occupation) are blanked in the party record only: as
# text they are common words ("男", "汉族") that would wreck unrelated sentences.
IDENTIFYING_KEYS = frozenset(
    {
        "name", "id_number", "phone", "mobile", "telephone", "contact", "address", "work_unit",
        "证件号码", "联系方式", "联系电话", "住址", "单位或住址", "居住详址", "姓名",
    }
)  # fmt: skip
MIN_LEN = 2  # a one-character value would replace that character everywhere


def placeholder_name(index: int) -> str:
    return f"〔当事人{index + 1}·已删除〕"


@dataclass
class ErasureReport:
    hearing_id: str
    party_index: int
    replaced: int = 0  # strings changed, over every record
    files_rewritten: int = 0
    files_removed: int = 0
    failures: list[str] = field(default_factory=list)
    lexicon_removed: int = 0  # words of the office lexicon that held the party's data

    def as_dict(self) -> dict[str, Any]:
        return {"hearing_id": self.hearing_id, "party_index": self.party_index, "replaced": self.replaced,
                "files_rewritten": self.files_rewritten, "files_removed": self.files_removed,
                "lexicon_removed": self.lexicon_removed, "failures": list(self.failures)}  # fmt: skip


class _Replacer:
    """Replaces the party's identifying strings in any JSON value, counting the changes."""

    def __init__(self, values: dict[str, str]) -> None:
        # longest first: an address that contains the name is replaced whole
        self.pairs = sorted(values.items(), key=lambda kv: -len(kv[0]))
        self.count = 0

    def text(self, s: str) -> str:
        out = s
        for old, new in self.pairs:
            if old in out:
                out = out.replace(old, new)
        if out != s:
            self.count += 1
        return out

    def value(self, v: Any) -> Any:
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        return v


def _identifiers(party: dict[str, Any], index: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in party.items():
        if key in IDENTIFYING_KEYS and isinstance(value, str) and len(value.strip()) >= MIN_LEN:
            out[value.strip()] = placeholder_name(index) if key in ("name", "姓名") else PLACEHOLDER
    return out


def _blank_party(party: dict[str, Any], index: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in party.items():
        if key in KEEP_KEYS:
            out[key] = value
        elif key == "name":
            out[key] = placeholder_name(index)
        elif isinstance(value, bool) or value is None:
            out[key] = value
        elif isinstance(value, (int, float)):
            out[key] = None
        elif isinstance(value, (list, dict)):
            out[key] = type(value)()
        else:
            out[key] = ""
    return out


def _rewrite_json(path: Path, rep: _Replacer) -> bool:
    before = rep.count
    data = json.loads(path.read_text(encoding="utf-8"))
    new = rep.value(data)
    if rep.count == before:
        return False
    tmp = path.with_suffix(path.suffix + ".erasing")
    tmp.write_text(json.dumps(new, ensure_ascii=False, indent=None), encoding="utf-8")
    tmp.replace(path)
    return True


def _rewrite_jsonl(path: Path, rep: _Replacer) -> bool:
    before = rep.count
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if not line.strip():
            out.append(line)
            continue
        try:
            out.append(json.dumps(rep.value(json.loads(line)), ensure_ascii=False))
        except json.JSONDecodeError:  # a torn last line of a crash: keep it, replaced as text
            out.append(rep.text(line))
    if rep.count == before:
        return False
    tmp = path.with_suffix(path.suffix + ".erasing")
    tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
    tmp.replace(path)
    return True


def _record_files(folders: Iterable[Path]) -> Iterable[Path]:
    for root in folders:
        if root.is_dir():
            yield from sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl"))


def erase_party(
    db: Database,
    settings: Settings,
    who: Principal | str,
    hearing_id: str,
    party_index: int,
    *,
    visible: Callable[[Any, str], Hearing] | None = None,
) -> ErasureReport:
    """Erase party ``party_index`` of a hearing (see the module). ``visible(tx, id)`` finds the
    hearing as the caller may see it (office scope)."""
    from scribe.review import service as review
    from scribe.review.models import Document

    report = ErasureReport(hearing_id, party_index)
    with db.transaction() as tx:
        hearing = visible(tx, hearing_id) if visible is not None else tx.get(Hearing, hearing_id)
        if hearing is None:
            from scribe.web.hearings import HearingNotFound

            raise HearingNotFound(hearing_id)
        if hearing.status in ("recording", "paused"):
            raise SessionError("the hearing is being recorded — erase a party after it is stopped",
                               fix="press Stop first")  # fmt: skip
        parties = list(hearing.parties or [])
        if not 0 <= party_index < len(parties):
            raise SessionError(f"this hearing has {len(parties)} parties; there is no party {party_index + 1}",
                               fix="pick a party from the hearing's list (numbered from 0 in the API)")  # fmt: skip
        party = dict(parties[party_index])
        if str(party.get("name", "")).startswith("〔当事人"):
            raise SessionError("this party's data was already erased", fix="nothing more to do")
        rep_strings = list(_identifiers(party, party_index))
        rep = _Replacer(_identifiers(party, party_index))
        # the hearing row
        parties[party_index] = _blank_party(party, party_index)
        others = [rep.value(p) if i != party_index else p for i, p in enumerate(parties)]
        hearing.parties = others
        hearing.party_names = " ".join(str(p.get("name", "")) for p in others)
        hearing.hotwords = [w for w in (rep.value(list(hearing.hotwords or []))) if PLACEHOLDER not in w and "〔当事人" not in w]
        hearing.speakers = rep.value(dict(hearing.speakers or {}))
        hearing.corrections = rep.value(dict(hearing.corrections or {}))
        hearing.title = rep.text(hearing.title or "")
        for consent in hearing.consents:
            if consent.party_index == party_index:
                consent.party_name = placeholder_name(party_index)
        # documents: fields in the database, saved drafts and transcripts on disk; rendered
        # files (they print the name) removed, to be rendered again from the erased draft
        docs: list[Document] = review.documents_of_hearing(tx, hearing.id)
        to_remove: list[Path] = []
        folders: list[Path] = []
        for doc in docs:
            doc.fields = rep.value(dict(doc.fields or {}))
            root = settings.data_dir / "documents" / doc.id
            folders.append(root)
            to_remove.append(root / "rendered")
            files = dict(doc.files or {})
            for kind in ("docx", "pdf"):
                info = files.pop(kind, None)
                if info and info.get("path"):
                    to_remove.append(Path(info["path"]))
            doc.files = files
        session = session_folder(settings, hearing.live_session_id)
        if session is not None:
            folders.append(session)
        for path in _record_files(folders):
            try:
                writer = _rewrite_jsonl if path.suffix == ".jsonl" else _rewrite_json
                if writer(path, rep):
                    report.files_rewritten += 1
            except (OSError, ValueError) as exc:
                report.failures.append(f"{path}: {type(exc).__name__}: {exc}")
        # a transcript file an approval hashed has new contents now: its entry says so
        for doc in docs:
            files = dict(doc.files or {})
            for kind, info in files.items():
                p = Path(info.get("path", ""))
                if p.is_file():
                    from scribe.delivery.files import sha256_file

                    files[kind] = {**info, "sha256": sha256_file(p), "size": p.stat().st_size}
            doc.files = files
        # webhook messages about the hearing and its documents (each endpoint's own body too)
        subjects = [hearing.id, *(d.id for d in docs)]
        for msg in tx.scalars(select(OutboxMessage).where(OutboxMessage.subject_id.in_(subjects))):
            msg.body = rep.text(msg.body)
            bodies = select(DeliveryBody).join(Delivery, Delivery.id == DeliveryBody.delivery_id).where(
                Delivery.message_id == msg.id)
            for body in tx.scalars(bodies):
                body.body = rep.text(body.body)
        revoke_document_links(tx, [d.id for d in docs])
        # the office lexicon: the party's name (and other strings) learnt from corrections
        from scribe.review.lexicon import forget_party

        report.lexicon_removed = forget_party(tx, hearing.office, hearing.id, rep_strings)
        pending = [r.id for r in track(tx, hearing.id, "party erased", to_remove)]
        report.replaced = rep.count
        audit.record(tx, who, Action.CHANGE, "hearing", hearing.id, office=hearing.office, step="erase_party",
                     party=party_index, replaced=rep.count, files=report.files_rewritten,
                     lexicon_removed=report.lexicon_removed)  # fmt: skip
    done = remove_tracked(db, pending)
    report.files_removed = len(done.removed)
    report.failures.extend(done.failures)
    return report
