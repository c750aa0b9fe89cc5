"""Rule-based drafting: a document's fields from the session file first, then the transcript.

One builder per document kind; each returns the ``fields`` of a :class:`Draft`. The order of
preference is always: what staff typed (``session``), what was said (``transcript``, with the
words as evidence), else ``missing``. Nothing is inferred that no one said.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import cn2an
from pydantic import ValidationError

from doc_templates.schemas import DOCUMENT_MODELS
from scribe.casefile import CaseFile, Party, PartyRole, StaffRole
from scribe.extract.category import guess_category
from scribe.extract.consultation import QUESTION_OR_FACT, ADVICE_HINT, condense, consultation_exchange, follow_up
from scribe.extract.dialogue import Dialogue, Utterance, mean_confidence
from scribe.extract.facts import fact_statements, responsibility_statement
from scribe.extract.fields import (
    Evidence,
    FieldValue,
    composite_items,
    composite_parts,
    from_session,
    from_transcript,
    missing,
)
from scribe.extract import notes as N
from scribe.extract.identity import self_statements
from scribe.extract.legal import cited_in_order
from scribe.extract.quantities import format_date
from scribe.extract.hearing import read_hearing
from scribe.extract.outcome import NO_AGREEMENT, PARTIAL
from scribe.extract.obligations import Term, manner_of, place_of

SIDES = ("甲方", "乙方", "丙方", "丁方", "戊方", "己方")
Fields = dict[str, FieldValue]


# -- shared fields -------------------------------------------------------------------------
def _staff_names(casefile: CaseFile, role: StaffRole) -> FieldValue:
    names = [s.name for s in casefile.staff_with_role(role) if s.name]
    return from_session(names or None, note=None if names else N.no_staff_named(role.value))


def _category(casefile: CaseFile, dialogue: Dialogue) -> FieldValue:
    if casefile.dispute_category:
        return from_session(casefile.dispute_category)
    guess = guess_category(dialogue.text, _main_parties(casefile))
    if guess is None:
        return missing(N.NO_CATEGORY)
    hits = [u for u in dialogue if any(w in u.text for w in guess.hits)][:3]
    return from_transcript(
        guess.category,
        [u.evidence() for u in hits],
        confidence=0.5 + 0.45 * guess.share,
        note=N.keywords(list(guess.hits)),
    )


def _main_parties(casefile: CaseFile) -> list[str] | None:
    """Who the dispute is between, as the session describes them (name, occupation, employer), when
    it names both an applicant and a respondent; else None (nothing to judge the category by)."""
    sides = [p for p in casefile.parties if p.role in (PartyRole.APPLICANT, PartyRole.RESPONDENT)]
    if {p.role for p in sides} != {PartyRole.APPLICANT, PartyRole.RESPONDENT}:
        return None
    ids = {p.id for p in sides}
    # an agent's employer is the side it speaks for (项目经理 of 锦程物业服务有限公司)
    agents = [p for p in casefile.parties if p.role == PartyRole.AGENT and p.represents in ids]
    return [" ".join(x for x in (p.name, p.occupation, p.employer) if x) for p in [*sides, *agents]]


def _legal_bases(utterances: list[Utterance]) -> FieldValue:
    items: list[FieldValue] = []
    seen: set[str] = set()
    for i, basis in cited_in_order([u.text for u in utterances]):
        u = utterances[i]
        if basis.citation in seen:
            continue
        seen.add(basis.citation)
        items.append(from_transcript(basis.citation, [u.span_evidence(basis.start, basis.end)], 0.9 * u.confidence))
    return composite_items(items, N.NO_STATUTE)


def _own_turns(dialogue: Dialogue, casefile: CaseFile, person_id: str) -> list[Utterance]:
    labels = {label for label, pid in casefile.speakers.items() if pid == person_id}
    return [u for u in dialogue if u.speaker in labels]


def _person_parts(party: Party, own: list[Utterance], keys: tuple[str, ...]) -> dict[str, FieldValue]:
    said = self_statements(own)
    parts: dict[str, FieldValue] = {}
    for key in keys:
        value = getattr(party, key, None)
        if hasattr(value, "value"):
            value = value.value  # enums print their Chinese value
        if value not in (None, ""):
            parts[key] = from_session(value)
        elif key in said:
            st = said[key]
            parts[key] = from_transcript(st.value, [st.utterance.evidence(st.quote)], 0.75 * st.utterance.confidence,
                                         note=N.STATED_BY_PARTY)
        else:
            parts[key] = missing(N.detail_missing(party.display, key))
    return parts


def _session_time(casefile: CaseFile) -> FieldValue:
    if casefile.start_time:
        return from_session(dt.datetime.combine(casefile.date, casefile.start_time).isoformat(timespec="minutes"))
    return from_session(casefile.date.isoformat())


# -- 人民调解协议书 -------------------------------------------------------------------------
PARTY_KEYS = ("name", "gender", "ethnicity", "age", "occupation", "phone", "address")


def mediation_agreement(casefile: CaseFile, dialogue: Dialogue) -> Fields:
    f: Fields = {}
    f["organisation"] = from_session(casefile.organisation)
    f["case_number"] = from_session(casefile.case_number)
    f["date"] = from_session(casefile.date.isoformat(), note=N.SIGNED_ON_SESSION_DATE)
    parties = []
    for i, party in enumerate(casefile.bound_parties):
        parts = {"side": from_session(SIDES[i] if i < len(SIDES) else f"第{i + 1}方"),
                 "role": from_session(party.role.value)}
        parts.update(_person_parts(party, _own_turns(dialogue, casefile, party.id), PARTY_KEYS))
        parties.append(composite_parts(parts))
    f["parties"] = composite_items(parties, N.NO_PARTIES_IN_FILE)
    f["dispute_category"] = _category(casefile, dialogue)

    statements = fact_statements(dialogue, casefile)
    if statements:
        # the mediator's own summary ("经了解，…") reads as is; the parties' words as reported speech
        text = "".join(s.text if s.speaker_label == "调解员" else f"{s.speaker_label}称：{s.text}"
                       for s in statements)
        used = [u for s in statements for u in s.utterances]
        f["facts"] = from_transcript(text, [u.evidence() for u in used], 0.6 * mean_confidence(used),
                                     note=N.PARTIES_OWN_WORDS)
    else:
        f["facts"] = missing(N.NO_FACTS)
    resp = responsibility_statement(dialogue)
    f["responsibility"] = (from_transcript(resp[0], [u.evidence() for u in resp[1]], 0.6 * mean_confidence(resp[1]))
                           if resp else missing(N.NO_RESPONSIBILITY))

    hearing = read_hearing(dialogue, casefile)
    terms = list(hearing.terms)
    f["terms"] = composite_items(
        [from_transcript(t.text, _term_evidence(t), 0.8 * mean_confidence(t.utterances),
                         note=N.term_status(t.frame.reason)) for t in terms],
        N.NO_TERMS)
    manners = manner_of(terms)
    f["performance_manner"] = (
        from_transcript("、".join(dict.fromkeys(label for label, _ in manners)),
                        [e for _, t in manners for e in _term_evidence(t)][:3], 0.7)
        if manners else missing(N.NO_MANNER))
    place = place_of(terms)
    f["performance_place"] = (from_transcript(place[0], _term_evidence(place[1]), 0.6) if place
                              else missing(N.NO_PLACE))
    deadline_items = []
    all_deadlines = []
    for n, t in enumerate(terms, 1):
        dates = ([(d, None) for d, _ in t.frame.schedule] if t.frame.schedule
                 else [(t.deadline.date, t.deadline)] if t.deadline else [])
        for date, d in dates:
            phrase = d.phrase if d else "分期"
            all_deadlines.append((date, phrase, t))
            deadline_items.append(from_transcript(
                f"第{cn2an.an2cn(n)}条“{phrase}”：{format_date(date)}", _term_evidence(t), 0.8,
                note=N.deadline_counted(d.kind if d else "absolute", casefile.date.isoformat())))
    f["deadlines"] = composite_items(deadline_items, N.NO_DEADLINE)
    if all_deadlines:
        last, phrase, term = max(all_deadlines, key=lambda x: x[0])
        f["performance_deadline"] = from_transcript(
            last.isoformat(), _term_evidence(term), 0.8, note=N.latest_deadline(phrase))
    else:
        f["performance_deadline"] = missing(N.NO_DEADLINE)
    bound = len(casefile.bound_parties)
    f["copies"] = (from_session(bound + 1, note=N.COPIES)
                   if bound else missing(N.NO_PARTIES))
    f["judicial_confirmation_deadline"] = from_session(
        (casefile.date + dt.timedelta(days=30)).isoformat(),
        note=N.CONFIRMATION)
    f["mediators"] = _staff_names(casefile, StaffRole.MEDIATOR)
    recorder = casefile.recorder
    f["recorder"] = from_session(recorder.name if recorder else None)
    f["legal_bases"] = _legal_bases(list(dialogue))
    return f


def _term_evidence(term: Term) -> list[Evidence]:
    """The clauses the term was said in, verbatim, each with its own times and speaker."""
    clauses = (list(term.frame.extra) + list(term.frame.clauses) + list(term.frame.arranged)
               + list(term.frame.scheduled) + list(term.frame.also) + list(term.frame.by) + list(term.frame.how))
    if not clauses:
        return []
    out: list[Evidence] = []
    by_utt: dict[int, list] = {}
    for c in clauses:
        by_utt.setdefault(c.utt.index, []).append(c)
    for cs in by_utt.values():
        u = cs[0].utt
        out.append(u.span_evidence(min(c.a for c in cs), max(c.b for c in cs)))
    return out


# -- 法律咨询记录 ---------------------------------------------------------------------------
VISITOR_KEYS = ("name", "gender", "age", "ethnicity", "occupation", "employer", "address", "phone")


def consultation_record(casefile: CaseFile, dialogue: Dialogue) -> Fields:
    f: Fields = {}
    f["organisation"] = from_session(casefile.organisation)
    f["case_number"] = from_session(casefile.case_number)
    f["time"] = _session_time(casefile)
    f["channel"] = from_session(casefile.consultation_channel.value if casefile.consultation_channel else None)
    visitors = casefile.parties_with_role(PartyRole.VISITOR)
    if not visitors:
        f["visitor"] = missing(N.NO_VISITOR)
    else:
        v = visitors[0]
        if v.identity_declined:
            # The record says so; the details are absent by the visitor's choice, not missing.
            parts = {"identity_declined": from_session(True, note=N.IDENTITY_DECLINED)}
            for key in VISITOR_KEYS:
                value = getattr(v, key)
                if value not in (None, ""):
                    parts[key] = from_session(value.value if hasattr(value, "value") else value)
        else:
            parts = _person_parts(v, _own_turns(dialogue, casefile, v.id), VISITOR_KEYS)
            parts["identity_declined"] = from_session(False)
        f["visitor"] = composite_parts(parts)
    f["category"] = _category(casefile, dialogue)
    ex = consultation_exchange(dialogue)
    if ex.question:
        f["question"] = from_transcript(condense(ex.question, QUESTION_OR_FACT, 480), [u.evidence() for u in ex.question],
                                        0.7 * mean_confidence(ex.question), note=N.VISITOR_OWN_WORDS)
    else:
        f["question"] = missing(N.NO_QUESTION)
    if ex.answer:
        f["answer"] = from_transcript(condense(ex.answer, ADVICE_HINT, 500), [u.evidence() for u in ex.answer],
                                      0.7 * mean_confidence(ex.answer), note=N.STAFF_OWN_WORDS)
    else:
        f["answer"] = missing(N.NO_ANSWER)
    f["legal_bases"] = _legal_bases(dialogue.staff())
    if ex.outcomes:
        f["outcome"] = composite_items(
            [from_transcript(label, [u.evidence()], 0.75 * u.confidence) for label, u in ex.outcomes], None)
    elif ex.answer:
        f["outcome"] = composite_items(
            [from_transcript("已解答", [ex.answer[-1].evidence()], 0.6, note=N.ANSWERED_NO_REFERRAL)], None)
    else:
        f["outcome"] = missing(N.NO_OUTCOME)
    consultants = [s.name for s in casefile.staff_with_role(StaffRole.CONSULTANT, StaffRole.MEDIATOR) if s.name]
    f["staff"] = from_session(consultants[0] if consultants else None)
    f["satisfaction"] = missing(N.ASK_SATISFACTION)
    fu = follow_up(dialogue, casefile.date)
    f["follow_up"] = (from_transcript(fu[0], [fu[1].evidence()], 0.6) if fu else missing(N.FILL_AFTER_FOLLOW_UP))
    return f


# -- 人民调解记录 ---------------------------------------------------------------------------
def hearing_record(casefile: CaseFile, dialogue: Dialogue) -> Fields:
    f: Fields = {}
    f["organisation"] = from_session(casefile.organisation)
    f["case_number"] = from_session(casefile.case_number)
    f["time"] = _session_time(casefile)
    f["place"] = from_session(casefile.place)
    if casefile.matter:
        f["matter"] = from_session(casefile.matter)
    else:
        cat = _category(casefile, dialogue)
        f["matter"] = (cat.model_copy(update={"value": f"{cat.value}纠纷"}) if not cat.is_missing
                       else missing(N.NO_CAUSE))
    f["dispute_category"] = _category(casefile, dialogue)
    f["mediators"] = _staff_names(casefile, StaffRole.MEDIATOR)
    recorder = casefile.recorder
    f["recorder"] = from_session(recorder.name if recorder else None)
    f["parties"] = composite_items([from_session(_party_line(p, casefile)) for p in casefile.bound_parties],
                                   N.NO_PARTIES_IN_FILE)
    others = [p for p in casefile.parties if not p.role.is_bound]
    f["others"] = FieldValue(value=[_party_line(p, casefile) for p in others], source="session", confidence=1.0) if others \
        else FieldValue(value=[], source="session", confidence=1.0, note=N.NONE.zh, note_en=N.NONE.en)
    turns = []
    for group in _merge_turns(list(dialogue.record)):
        first, last = group[0], group[-1]
        text = "".join(u.text for u in group)
        if first.unrecognised:
            # speech no decode recognised: its own turn, 【未能识别】 with where it is in the
            # recording (the printed record has no player), flagged for review
            note = N.UNRECOGNISED
            text = f"{text}（录音{_clock(first.start)}至{_clock(last.end)}）"
        else:
            note = None if first.role else N.SPEAKER_UNMAPPED
        turns.append(from_transcript(
            {"speaker": first.display, "text": text,
             "start": round(first.start, 3), "end": round(last.end, 3)},
            [u.evidence() for u in group], mean_confidence(group), note=note))
    f["turns"] = composite_items(turns, N.NO_SPEECH)
    f["result"] = hearing_result(casefile, dialogue)
    return f


def _clock(seconds: float) -> str:
    m, sec = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"
def hearing_result(casefile: CaseFile, dialogue: Dialogue) -> FieldValue:
    """调解结果: the outcome with its evidence, why (when not agreed), the court/arbitration
    routes the parties were told of, and the agreed terms for an agreement said aloud."""
    hearing = read_hearing(dialogue, casefile)
    oc = hearing.outcome
    if oc.outcome is None:
        return missing(N.NO_OUTCOME_HEARD)
    parts: dict[str, FieldValue] = {
        "outcome": from_transcript(oc.outcome, [c.evidence() for c in oc.evidence], 0.7,
                                   note=N.outcome_from(oc.outcome)),
    }
    if oc.outcome in NO_AGREEMENT or oc.outcome == PARTIAL:
        parts["reason"] = (from_transcript(oc.reason.text, [oc.reason.evidence()], 0.6) if oc.reason
                           else missing(N.NO_REASON))
        parts["remedies"] = (from_transcript("；".join(c.text for c in oc.remedies),
                                             [c.evidence() for c in oc.remedies], 0.6)
                             if oc.remedies else missing(N.NO_REMEDIES))
    else:
        parts["reason"] = FieldValue(value=None, source="session", confidence=1.0, note=N.NONE.zh, note_en=N.NONE.en)
        parts["remedies"] = FieldValue(value=None, source="session", confidence=1.0, note=N.NONE.zh,
                                       note_en=N.NONE.en)
    parts["terms"] = composite_items(
        [from_transcript(t.text, _term_evidence(t), 0.8 * mean_confidence(t.utterances)) for t in hearing.terms],
        N.NONE)
    return composite_parts(parts)


def _party_line(p: Party, casefile: CaseFile) -> str:
    bits = [p.display]
    for value in (p.gender.value if p.gender else None, f"{p.age}岁" if p.age is not None else None,
                  p.ethnicity, p.occupation, p.address):
        if value:
            bits.append(str(value))
    principal = casefile.person(p.represents) if p.represents else None
    if principal is not None:
        bits.append(f"{principal.display}的{'代理人' if p.role is PartyRole.AGENT else '陪同人'}")
    return "，".join(bits)


def _merge_turns(utterances: list[Utterance]) -> list[list[Utterance]]:
    groups: list[list[Utterance]] = []
    for u in utterances:
        # an unrecognised stretch is never merged into recognised text (nor they into it)
        if groups and groups[-1][-1].speaker == u.speaker and not (u.unrecognised or groups[-1][-1].unrecognised):
            groups[-1].append(u)
        else:
            groups.append([u])
    return groups


BUILDERS: dict[str, Callable[[CaseFile, Dialogue], Fields]] = {
    "mediation-agreement": mediation_agreement,
    "consultation-record": consultation_record,
    "hearing-record": hearing_record,
}


def validate_fields(kind: str, fields: Fields) -> list[str]:
    """What keeps these values from being a valid finished document (empty when it is)."""
    model = DOCUMENT_MODELS[kind]
    values = _strip_none({k: v.value for k, v in fields.items()})
    try:
        model.model_validate(values)
    except ValidationError as exc:
        return [f"{'.'.join(str(p) for p in e['loc']) or kind}: {e['msg']}" for e in exc.errors()]
    return []


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value
