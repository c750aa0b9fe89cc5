"""Candidates for the reviewer: every amount, date, person and obligation found in the
transcript, with its evidence and whether the draft used it, or why not (rejected, superseded),
so a value the rules missed is one click away on the review page and in ``draft.json``."""

from __future__ import annotations

from scribe.casefile import CaseFile, SessionType
from scribe.extract.clauses import clauses_of
from scribe.extract.dialogue import Dialogue
from scribe.extract.draft import Candidate
from scribe.extract.hearing import read_hearing
from scribe.extract.quantities import find_amounts, find_deadlines, format_date

_STATUS = {"accepted": "used", "rejected": "rejected", "superseded": "superseded"}


def candidates(dialogue: Dialogue, casefile: CaseFile) -> list[Candidate]:
    out: list[Candidate] = []
    used_spans: dict[tuple[int, int, int], str] = {}
    if casefile.session_type is SessionType.MEDIATION:
        hearing = read_hearing(dialogue, casefile)
        in_terms = {id(t.frame.clauses[0]) for t in hearing.terms}
        for f in hearing.frames:
            used = hearing.agreed and f.status == "accepted" and bool(f.obligors) and any(
                t.frame.utt is f.utt and set(t.frame.clauses) >= set(f.clauses) for t in hearing.terms)
            status = "used" if used else _STATUS.get(f.status, "unused")
            if status == "used" and id(f.clauses[0]) not in in_terms and not used:
                status = "unused"
            ev = f.utt.span_evidence(f.clauses[0].a, f.clauses[-1].b)
            who = "、".join(hearing.names.display(p) for p in f.obligors) or "（未确定义务人）"
            out.append(Candidate(kind="obligation", value=f"{who}：{f.text}", status=status, field="terms",
                                 reason=f.reason or None, evidence=ev))
            for c in f.clauses:
                used_spans[(c.utt.index, c.a, c.b)] = status
    names = read_hearing(dialogue, casefile).names if casefile.session_type is SessionType.MEDIATION else None
    for u in dialogue:
        for c in clauses_of(u):
            status = used_spans.get((u.index, c.a, c.b), "unused")
            for a in find_amounts(c.text):
                out.append(Candidate(kind="amount", value=f"{a.yuan.normalize():f}元", status=status,
                                     field="terms", evidence=c.evidence()))
            for d in find_deadlines(c.text, casefile.date):
                out.append(Candidate(kind="date", value=format_date(d.date), status=status,
                                     field="deadlines", reason=d.phrase, evidence=c.evidence()))
            if names is not None:
                for m in names.find(c.text):
                    out.append(Candidate(kind="person", value=names.display(m.party), status="unused",
                                         field="parties", reason=m.party, evidence=c.evidence()))
    return out
