"""A consultation: the visitor's question, the staff's answer, and what was done with it.

The question is what the 咨询人 said before the staff began answering, trimmed to the
sentences that carry it (question words, the facts they rest on). The answer is the staff's
advice after it: sentences with advice words (根据, 可以, 建议, 应当, 有权) are kept, small
talk is dropped. The outcome (处理结果) follows the staff's own words: a referral to legal aid,
mediation, arbitration or the court only when the staff said so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scribe.casefile import PartyRole, StaffRole
from scribe.extract.dialogue import Dialogue, Utterance

QUESTION_HINT = re.compile(r"[吗？?]|怎么办|怎么|能不能|可不可以|可以.{0,6}吗|是否|如何|该不该|有没有|要不要|应该")
ADVICE_HINT = re.compile(r"根据|依照|按照|依据|规定|可以|建议|应当|应该|有权|需要|必须|申请|仲裁|起诉|法律援助")
SMALL_TALK = re.compile(r"^(您好|你好|请坐|请讲|嗯|好的|好|对|是的|明白|谢谢|不客气)[，,。！!]?$")

OUTCOMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("转法律援助", re.compile(r"法律援助")),
    ("引导劳动仲裁", re.compile(r"劳动(争议)?仲裁|仲裁委")),
    ("引导仲裁", re.compile(r"仲裁")),
    ("转人民调解", re.compile(r"(人民)?调解委员会|申请调解|来调解|帮你(们)?调解")),
    ("引导诉讼", re.compile(r"起诉|诉讼|法院")),
    ("约期答复", re.compile(r"(过|隔)(几|两|三)?天(再)?(给你)?(答复|回复)|约.{0,4}答复|查一下再")),
)


@dataclass(frozen=True)
class Exchange:
    question: tuple[Utterance, ...]
    answer: tuple[Utterance, ...]
    outcomes: tuple[tuple[str, Utterance], ...]


def consultation_exchange(dialogue: Dialogue) -> Exchange:
    visitors = (PartyRole.VISITOR, PartyRole.AGENT, PartyRole.RELATIVE)
    staff_roles = (StaffRole.CONSULTANT, StaffRole.MEDIATOR)
    question: list[Utterance] = []
    answer: list[Utterance] = []
    answering = False
    for u in dialogue:
        if u.role in visitors and not answering:
            if not SMALL_TALK.match(u.text):
                question.append(u)
        elif u.role in staff_roles:
            if question and ADVICE_HINT.search(u.text):
                answering = True
            if answering and not SMALL_TALK.match(u.text):
                answer.append(u)
        elif u.role in visitors and answering and QUESTION_HINT.search(u.text) and not answer:
            question.append(u)
    # Only the visitor's turns with a question or the facts before it make the question.
    if question and not any(QUESTION_HINT.search(u.text) for u in question):
        question = []
    outcomes: list[tuple[str, Utterance]] = []
    for label, pattern in OUTCOMES:
        for u in answer:
            if pattern.search(u.text):
                if label == "引导仲裁" and any(o[0] == "引导劳动仲裁" for o in outcomes):
                    break
                outcomes.append((label, u))
                break
    return Exchange(tuple(question), tuple(answer), tuple(outcomes))


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?；;])", text) if s.strip()]


def condense(utterances: list[Utterance] | tuple[Utterance, ...], hint: re.Pattern[str], limit: int) -> str:
    """The sentences of ``utterances`` worth keeping, in order, up to ``limit`` characters.

    Sentences matching ``hint`` come first in priority; others fill any room left, so the
    text stays verbatim and in the speaker's order.
    """
    all_sentences = [s.strip() for u in utterances for s in sentences(u.text)]
    keep = [s for s in all_sentences if hint.search(s)]
    rest = [s for s in all_sentences if s not in keep]
    chosen: list[str] = []
    total = 0
    for s in keep + rest:
        if total + len(s) > limit and chosen:
            continue
        chosen.append(s)
        total += len(s)
    ordered = [s for s in all_sentences if s in chosen]
    text = "".join(s if s[-1] in "。！？!?；;" else s + "。" for s in ordered)
    return text
