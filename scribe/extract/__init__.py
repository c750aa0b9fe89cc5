"""Rule-based, role-aware extraction of document fields from a transcript and a session file.

``rule_draft`` is the whole of it: a :class:`~scribe.extract.draft.Draft` whose every field says
where its value came from. The optional drafting model (``scribe.drafting``) starts from this
draft and may only improve fields it can support with the transcript.
"""

from __future__ import annotations

import datetime as dt

from scribe.casefile import CaseFile, SessionType
from scribe.errors import DocumentError, NoAgreementError
from scribe.extract.hearing import read_hearing
from scribe.extract.outcome import NO_AGREEMENT
from scribe.extract.builders import BUILDERS, Fields, validate_fields
from scribe.extract.dialogue import Dialogue
from scribe.extract.draft import Draft, DrafterInfo
from scribe.types import Transcript

__all__ = ["Dialogue", "Draft", "extract_fields", "finish_draft", "rule_draft"]

_KIND_SESSION = {
    "mediation-agreement": SessionType.MEDIATION,
    "hearing-record": SessionType.MEDIATION,
    "consultation-record": SessionType.CONSULTATION,
}


def extract_fields(kind: str, transcript: Transcript, casefile: CaseFile) -> Fields:
    if kind not in BUILDERS:
        raise DocumentError(f"unknown document kind {kind!r}", fix=f"use one of {', '.join(BUILDERS)}")
    return BUILDERS[kind](casefile, Dialogue.build(transcript, casefile))


def finish_draft(
    *,
    template: str,
    kind: str,
    title: str,
    fields: Fields,
    transcript: Transcript,
    casefile: CaseFile,
    drafter: DrafterInfo,
    warnings: list[str],
) -> Draft:
    missing = [p for name, fv in fields.items() for p in fv.missing_paths(name)]
    return Draft(
        template=template,
        document=kind,
        title=title,
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        session={
            "session_type": casefile.session_type.value,
            "case_number": casefile.case_number,
            "date": casefile.date.isoformat(),
        },
        transcript={
            "language": transcript.language,
            "model": transcript.model,
            "duration": round(transcript.duration, 3),
            "segments": len(transcript.segments),
        },
        drafter=drafter,
        fields=fields,
        missing=missing,
        problems=validate_fields(kind, fields),
        warnings=warnings,
    )


def refuse_without_agreement(dialogue: Dialogue, casefile: CaseFile) -> None:
    """No 人民调解协议书 for a hearing that reached none: the worst draft is one that looks ready to
    file and holds terms nobody agreed to."""
    hearing = read_hearing(dialogue, casefile)
    oc = hearing.outcome
    if oc.outcome in NO_AGREEMENT:
        ev = oc.evidence[0] if oc.evidence else None
        quote = ev.evidence().quote if ev else ""
        when = ""
        if ev is not None:
            start, _ = ev.times
            who = ev.utt.display
            when = f"{who}，{int(start // 60):02d}:{int(start % 60):02d}"
        raise NoAgreementError(oc.outcome, quote, when=when)


def rule_draft(
    transcript: Transcript, casefile: CaseFile, *, kind: str, template: str | None = None, title: str = ""
) -> Draft:
    warnings: list[str] = []
    expected = _KIND_SESSION.get(kind)
    if expected is not None and casefile.session_type is not expected:
        warnings.append(
            f"a {kind} is drafted from a {casefile.session_type.value} session; "
            f"check the template choice"
        )
    dialogue = Dialogue.build(transcript, casefile)
    unmapped = dialogue.unmapped_speakers()
    if transcript.segments and all(seg.speaker is None for seg in transcript.segments):
        warnings.append(
            "the transcript has no speaker labels, so no words can be attributed to a role "
            "(terms, questions and answers stay missing): diarize the recording first "
            "(scribe diarize) and map its labels in the session file's `speakers`"
        )
    elif unmapped:
        warnings.append(
            f"speaker labels {', '.join(unmapped)} are not mapped to anyone in the session file; "
            f"their words are not attributed to a role"
        )
    if kind == "mediation-agreement":
        refuse_without_agreement(dialogue, casefile)
    fields = BUILDERS[kind](casefile, dialogue) if kind in BUILDERS else extract_fields(kind, transcript, casefile)
    draft = finish_draft(
        template=template or kind, kind=kind, title=title, fields=fields, transcript=transcript,
        casefile=casefile, drafter=DrafterInfo(method="rules"), warnings=warnings,
    )
    from scribe.extract.candidates import candidates

    draft = draft.model_copy(update={"candidates": candidates(dialogue, casefile)})
    return check_quotes(draft, transcript)


def check_quotes(draft: Draft, transcript: Transcript) -> Draft:
    """Every evidence quote must be the transcript's own words: a quote that is not verbatim in its
    segment is replaced by the whole segment (never shown as if said) and the draft says so."""
    segments = transcript.segments
    bad = 0

    def fix(fv):  # type: ignore[no-untyped-def]
        nonlocal bad
        evidence = []
        for ev in fv.evidence:
            seg = segments[ev.segment] if ev.segment is not None and 0 <= ev.segment < len(segments) else None
            if seg is not None and ev.quote not in seg.text:
                bad += 1
                ev = ev.model_copy(update={"quote": seg.text.strip(), "start": seg.start, "end": seg.end})
            evidence.append(ev)
        update = {"evidence": evidence}
        if fv.items is not None:
            update["items"] = [fix(i) for i in fv.items]
        if fv.parts is not None:
            update["parts"] = {k: fix(v) for k, v in fv.parts.items()}
        return fv.model_copy(update=update)

    fields = {name: fix(fv) for name, fv in draft.fields.items()}
    cands = []
    for c in draft.candidates:
        seg = segments[c.evidence.segment] if c.evidence.segment is not None else None
        if seg is not None and c.evidence.quote not in seg.text:
            bad += 1
            c = c.model_copy(update={"evidence": c.evidence.model_copy(update={"quote": seg.text.strip()})})
        cands.append(c)
    warnings = list(draft.warnings)
    if bad:
        warnings.append(f"{bad} evidence quote(s) were not verbatim in their segment and now quote the whole segment")
    return draft.model_copy(update={"fields": fields, "candidates": cands, "warnings": warnings})
