"""The facts and issues in dispute, summarised extractively from what the parties said.

Each bound party's first substantive statements are quoted in reported speech ("申请人张三称：…")
with their own words, shortened to the sentences that carry facts (amounts, dates, the
disputed thing); a mediator's explicit summary ("经了解…", "争议焦点是…") comes first when
there is one. Nothing is paraphrased here: rewriting is the optional drafting model's job, and
it is checked against these words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scribe.casefile import CaseFile, PartyRole, SessionType, StaffRole
from scribe.extract.consultation import sentences
from scribe.extract.dialogue import Dialogue, Utterance
from scribe.extract.legal import find_legal_bases

FACT_HINT = re.compile(
    r"\d|[一二两三四五六七八九十百千万]+(元|块|年|月|日|天|米|期)|因为|由于|结果|后来|去年|今年|当时|"
    r"欠|借|墙|房|地|工资|离婚|财产|赔|费|责任|打|坏|占|修|拆|撞|不给|不还|要求"
)
MATTER_CUE = re.compile(r"申请的|的事情|的事儿|纠纷|矛盾|这个事|这件事")
SUMMARY_CUE = re.compile(r"经(了解|调查|查明|核实)|争议(的)?焦点|主要(矛盾|分歧|争议)|事情(的)?经过")
RESPONSIBILITY_CUE = re.compile(r"责任")
FILLER = re.compile(r"^(嗯|啊|对|是|好|是的|对的|没错)[，,。]?")
# "我叫李国强，我今年五十八岁。" identifies the speaker; it is not a fact of the dispute.
SELF_INTRO = re.compile(r"^(您好|你好)?[，,]?我(叫|是|今年)[^，。]{1,8}[，。]?(我今年[^，。]{1,6}岁[，。]?)?$")


@dataclass(frozen=True)
class FactStatement:
    speaker_label: str  # 申请人张三
    text: str
    utterances: tuple[Utterance, ...]


def fact_statements(dialogue: Dialogue, casefile: CaseFile, per_party_chars: int = 160) -> list[FactStatement]:
    out: list[FactStatement] = []
    summary = [u for u in dialogue.by_roles(StaffRole.MEDIATOR) if SUMMARY_CUE.search(u.text)]
    if not summary:
        # the mediator naming the matter at the start ("今天是甲申请的，跟乙…的事情")
        summary = [u for u in dialogue.by_roles(StaffRole.MEDIATOR)[:6] if MATTER_CUE.search(u.text)][:1]
    if summary:
        # a recogniser cuts a turn where the speaker breathes: the summary goes on in the same
        # speaker's next segments ("事情经过…10月15号晚上" / "许志鹏骑电动车…撞到了")
        turn = _turn_from(dialogue, summary[0])
        chosen = [s for u in turn for s in sentences(u.text) if SUMMARY_CUE.search(s) or FACT_HINT.search(s)
                  or MATTER_CUE.search(s)]
        if chosen:
            out.append(FactStatement("调解员", _join(chosen, per_party_chars), tuple(turn)))
    speakers_for: list[tuple[str, str]] = []  # (label printed, person id) in the order typed
    for party in casefile.parties:
        if party.role.is_bound or party.role is PartyRole.VISITOR:
            speakers_for.append((party.display, party.id))
            # an agent or a relative speaks for the party: their statements follow the party's, so labelled
            for agent in casefile.parties:
                if agent.represents == party.id and agent.role in (PartyRole.AGENT, PartyRole.RELATIVE):
                    speakers_for.append((f"{party.display}的{agent.role.value}{agent.name or ''}", agent.id))
    told_until = _negotiation_start(dialogue, casefile)
    for display, person_id in speakers_for:
        own = [u for u in dialogue.parties() if u.speaker in _labels_of(casefile, person_id)]
        # the facts are what a party tells before the haggling starts; offers and demands after
        # it are the negotiation (a party who only speaks then is still heard)
        told = [u for u in own if u.start < told_until and len(u.text) >= 8]
        factual = told or [u for u in own if len(u.text) >= 8 and FACT_HINT.search(u.text)]
        if not factual:
            continue
        picked: list[str] = []
        used: list[Utterance] = []
        for u in factual:
            for s in sentences(FILLER.sub("", u.text)):
                s = _drop_intro(s)
                if s and (told or FACT_HINT.search(s)) and sum(map(len, picked)) + len(s) <= per_party_chars:
                    picked.append(s)
                    if u not in used:
                        used.append(u)
            if sum(map(len, picked)) >= per_party_chars * 0.7:
                break
        claim = _claim(own, picked)
        if claim is not None:
            # the issue in dispute is what the party asks for (Art 29: 争议事项), wherever they say it
            text = _join(picked, per_party_chars) + _join([claim[0]], per_party_chars)
            out.append(FactStatement(display, text, tuple(dict.fromkeys([*used, claim[1]]))))
        elif picked:
            out.append(FactStatement(display, _join(picked, per_party_chars), tuple(used)))
    return out


CLAIM_CUE = re.compile(r"要求|请求|诉求")


def _claim(own: list[Utterance], picked: list[str]) -> tuple[str, Utterance] | None:
    """The party's own first statement of what they ask for ("我们要求每人退一千五"), when the
    sentences already picked do not say it; a question ("你要求多少？") asks, it claims nothing."""
    if any(CLAIM_CUE.search(s) for s in picked):
        return None
    for u in own:
        for s in sentences(u.text):
            if CLAIM_CUE.search(s) and FACT_HINT.search(s) and not re.search(r"[吗？?]", s) and len(s) <= 60:
                return s, u
    return None


def _negotiation_start(dialogue: Dialogue, casefile: CaseFile) -> float:
    """When the first obligation is put on the table (any frame: proposed, asked, rejected …)."""
    if casefile.session_type is not SessionType.MEDIATION:
        return float("inf")
    from scribe.extract.hearing import read_hearing

    frames = read_hearing(dialogue, casefile).frames
    return min((f.utt.start for f in frames if f.obligors), default=float("inf"))


def _turn_from(dialogue: Dialogue, first: Utterance, most: int = 3) -> list[Utterance]:
    """``first`` and the same speaker's segments right after it (one turn), at most ``most``."""
    utts = list(dialogue)
    at = utts.index(first)
    turn = [first]
    for u in utts[at + 1:at + most]:
        if u.speaker != first.speaker:
            break
        turn.append(u)
    return turn


def responsibility_statement(dialogue: Dialogue) -> tuple[str, list[Utterance]] | None:
    said = [
        (s, u)
        for u in dialogue.by_roles(StaffRole.MEDIATOR)
        for s in sentences(u.text)
        # a question, or the statute read out ("…由机动车一方承担赔偿责任"), states nobody's share
        if RESPONSIBILITY_CUE.search(s) and not re.search(r"[吗？?]", s) and not find_legal_bases(s)
    ]
    if not said:
        return None
    text = _join([s for s, _ in said[:2]], 160)
    return text, list(dict.fromkeys(u for _, u in said[:2]))


def _drop_intro(sentence: str) -> str:
    # strip leading self-introduction clauses ("我叫张建华，我和李国强是邻居。" keeps the rest)
    clauses = re.split(r"(?<=[，,])", sentence)
    while clauses and SELF_INTRO.match(clauses[0].strip()) or (clauses and re.match(r"^我今年.{1,6}岁[，,。]?$", clauses[0].strip())):
        clauses = clauses[1:]
    return "".join(clauses).strip()


def _labels_of(casefile: CaseFile, person_id: str) -> set[str]:
    return {label for label, pid in casefile.speakers.items() if pid == person_id}


def _join(parts: list[str], limit: int) -> str:
    text = ""
    for p in parts:
        p = p.strip()
        if not p:
            continue
        if text and len(text) + len(p) > limit:
            break
        text += p if p[-1] in "。！？!?；;" else p + "。"
    return text
