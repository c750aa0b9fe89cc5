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
FACT_RE = re.compile(r"\d|[一二两三四五六七八九十百千万]+(?:元|块|万|年|个月|月|天|岁|亩|分|期|次)|老板|公司|包工头|单位|合同|欠条|借条|受伤|住院")
QUESTION_OR_FACT = re.compile(QUESTION_HINT.pattern + "|" + FACT_RE.pattern)
SMALL_TALK = re.compile(r"^(您好|你好|请坐|请讲|嗯|好的|好|对|是的|明白|谢谢|不客气)[，,。！!]?$")

OTHER_DEPARTMENT = (r"12315|12345|市场监(?:督)?管|监管部门|执法局|城管|劳动监察|监察大队|派出所|公安|报警|信访|"
                    r"住建|人社局|人力资源和社会保障局|消协|消费者协会|妇联|民政局|卫健委|卫生健康委|教育局|交警|"
                    r"有关部门|主管部门|转给[^，。\s]{0,10}(?:局|部门|委员会|所|队)")
OUTCOMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("转法律援助", re.compile(r"法律援助")),
    ("引导劳动仲裁", re.compile(r"劳动(争议)?仲裁|仲裁委")),
    ("引导仲裁", re.compile(r"仲裁")),
    ("转人民调解", re.compile(r"(人民)?调解委员会|申请调解|来调解|帮你(们)?调解")),
    ("引导诉讼", re.compile(r"起诉|诉讼|法院")),
    # another authority that handles it: the market regulator (12315), labour inspection, the
    # police, urban management, the petition office … (domain.md: 转其他部门)
    ("转其他部门", re.compile(OTHER_DEPARTMENT)),
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
    # The matter as told: the story often comes first and the question last, and facts (amounts,
    # dates, who) come out later in answers to the staff's questions, so the visitor's turns that
    # carry facts join the question wherever they are said.
    later = [u for u in dialogue if u.role in visitors and u not in question and not SMALL_TALK.match(u.text)
             and (FACT_RE.search(u.text) or QUESTION_HINT.search(u.text)) and len(u.text) >= 6]
    question = sorted(set(question) | set(later), key=lambda u: (u.start, u.index))
    if question and not any(QUESTION_HINT.search(u.text) for u in question):
        question = []
    outcomes: list[tuple[str, Utterance]] = []
    utts = list(dialogue)
    for label, pattern in OUTCOMES:
        for k, u in enumerate(utts):
            if u.role not in staff_roles or not pattern.search(u.text):
                continue
            if label == "引导仲裁" and any(o[0] == "引导劳动仲裁" for o in outcomes):
                break
            if _taken_up(u, pattern, utts[k + 1:k + 4], visitors, KEYWORD.get(label), utts[k + 4:k + 7]) \
                    and not _declined_later(utts[k + 1:], visitors, KEYWORD.get(label)):
                outcomes.append((_OUTCOME_LABEL.get(label, label), u))
                break
    return Exchange(tuple(question), tuple(answer), tuple(outcomes))


_OUTCOME_LABEL: dict[str, str] = {}
DONE_RE = re.compile(r"(?:已经|已|我)(?:给你|帮你|替你)?(?:转|联系|登记|开|写|约|安排|预约|转介|推荐)|给你开(?:个|一张)|帮你(?:转|联系|登记|约|安排|预约|申请)")


KEYWORD = {"转法律援助": re.compile(r"法律援助|援助"), "引导劳动仲裁": re.compile(r"仲裁"),
           "引导仲裁": re.compile(r"仲裁"), "转人民调解": re.compile(r"调解"),
           "引导诉讼": re.compile(r"起诉|诉讼|法院|打官司|告他"),
           "转其他部门": re.compile(OTHER_DEPARTMENT + r"|投诉|举报")}


def _taken_up(u: Utterance, pattern: re.Pattern[str], after: list[Utterance], visitors: tuple,
              keyword: re.Pattern[str] | None = None, later: list[Utterance] | None = None) -> bool:
    """A referral counts when staff did it, or offered it and the visitor took it up; a route only
    mentioned, offered and declined, or ruled out (不符合条件) is not an outcome."""
    from scribe.extract import acts

    m = pattern.search(u.text)
    assert m is not None
    around = u.text[max(0, m.start() - 14):m.end() + 10]
    if re.search(r"不符合|不够条件|不能申请|申请不了|不属于|不受理|不用|没必要", around):
        return False
    sentence_start = max(u.text.rfind(p, 0, m.start()) for p in "。！？!?") + 1
    if acts.is_conditional(u.text[sentence_start:m.start()]) or re.match(r".{0,4}的话", u.text[m.end():]):
        return False  # "要是他不来…你再去法院起诉": a route for later, not what was done
    asked = False  # the visitor asked about the route ("打官司的话呢"): their answer to the reply decides
    for n, v in enumerate(after + (later or [])):
        if n >= len(after) and not asked:
            break  # past the first replies: only an answer to the visitor's own question is read
        if v.role in visitors:
            named = keyword.search(v.text) if keyword is not None else None
            by_name = named is not None and not re.search(r"不|没", v.text[:named.start()][-3:])
            if by_name and TAKEN_RE.match(v.text[named.end():]):
                return True  # "12315，好，我记下了。那要是还不行呢？": taken, then something else asked
            if asked and named is None and not acts.is_assent(v.text):
                return True  # they went on to something else: asking about it was taking it up
            if acts.is_rejection(v.text) or re.search(r"不想|不去|不打|先不|算了|不用了|暂时不|不太想", v.text):
                return False
            first = v.text.split("，")[0].split(" ")[0]
            if named is not None and re.search(r"不|没|别", v.text[named.end():named.end() + 4]):
                return False  # "打官司我不搞"
            if by_name and not _asks_for_another(v.text[named.end():], keyword):
                if acts.is_question(v.text) and not asked and later is not None:
                    asked = True  # "打官司的话呢": a question about it; the answer after the reply decides
                    continue
                # "那就先调解吧": the visitor takes the route by name
                return True
            if acts.is_assent(v.text) or acts.is_assent(first) and len(v.text) <= 12 or re.search(r"那我(就)?去|我去|好的?，?我|麻烦你", v.text):
                return True
            break
    if asked:
        return True
    return bool(DONE_RE.search(around)) and not acts.is_conditional(around) and not acts.is_question(around)


# the route named and at once agreed to: "12315，好", "12315 好 这个我去打"
TAKEN_RE = re.compile(r"[\s，,。、]*(?:好(?!像|不好)|行(?!不行)|可以(?!吗|不)|我记下了|记下了|我去)")
DECLINE_AFTER_RE = re.compile(r"^[^，。？！?!]{0,3}(?:先不|不弄|不去|不打|不用|不想|就算了|算了|不搞|不找)")


def _declined_later(after: list[Utterance], visitors: tuple, keyword: re.Pattern[str] | None) -> bool:
    """The visitor's last word on a route decides: "那我先调解吧，12315先不弄了" said later undoes
    an earlier "12315我听说过"; "起诉就算了" declines 起诉."""
    if keyword is None:
        return False
    said = False
    for v in after:
        if v.role not in visitors:
            continue
        for m in keyword.finditer(v.text):
            said = bool(DECLINE_AFTER_RE.search(v.text[m.end():m.end() + 8]))
    return said


def _asks_for_another(rest: str, keyword: re.Pattern[str] | None) -> bool:
    """After naming the route the visitor asks a question that does not name it: asks for
    something else ("仲裁 打官司 那个太麻烦了…能不能先让你们镇上把他叫过来"); a question naming
    it is about taking it ("要先仲裁 那仲裁要钱吗")."""
    q = QUESTION_HINT.search(rest)
    if q is None or keyword is None:
        return False
    start = max(rest.rfind(p, 0, q.start()) for p in " ，,。‖") + 1
    return keyword.search(rest[start:]) is None


_YOU = r"(?:你|您|你们|您们)"
FOLLOW_RE = re.compile(
    rf"回访|回个电话|回电话|给{_YOU}打(?:个)?电话|打(?:个)?电话给{_YOU}|电话(?:问|联系|跟进|通知|告诉)|跟进|"
    rf"(?:再|会|来)?联系{_YOU}|问问(?:{_YOU})?(?:进展|情况)|回复{_YOU}|答复{_YOU}"
)
# "不用专门回访" / "就不回访了": a follow-up ruled out is none
NO_FOLLOW_RE = re.compile(r"(?:不用|不必|不需要|没必要|用不着|不会|不再|就不)[^，。！？,!?]{0,4}$")


def follow_up(dialogue: Dialogue, session_date) -> tuple[str, Utterance] | None:  # type: ignore[no-untyped-def]
    """回访: staff said they will follow up, with when (resolved from the session date)."""
    from scribe.extract.quantities import find_deadlines, format_date

    for u in reversed(list(dialogue)):
        if not u.is_staff:
            continue
        m = next((x for x in FOLLOW_RE.finditer(u.text)
                  if not NO_FOLLOW_RE.search(u.text[:x.start()])), None)
        if not m:
            continue
        got = find_deadlines(u.text, session_date) or _relative_days(u.text, session_date)
        when = got[0].date if got and not isinstance(got[0], tuple) else None
        text = u.text.strip()
        return (f"{format_date(when)}前{m.group(0)}：{text}" if when else text), u
    return None


def _relative_days(text: str, session_date):  # type: ignore[no-untyped-def]
    import datetime as dt

    from scribe.extract.quantities import Deadline, parse_numeral

    m = re.search(r"(过|隔|再过)?\s*([\d一二两三四五六七八九十]+)\s*(天|个星期|周|个礼拜|礼拜)(以后|之后|后)?", text)
    if m and (m.group(1) or m.group(4)):
        n = parse_numeral(m.group(2))
        if n is not None:
            days = int(n) * (7 if m.group(3) != "天" else 1)
            return [Deadline(session_date + dt.timedelta(days=days), m.group(0), "relative", m.start(), m.end())]
    m = re.search(r"下(个)?(周|星期|礼拜)", text)
    if m:
        return [Deadline(session_date + dt.timedelta(days=7), m.group(0), "relative", m.start(), m.end())]
    return []


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
