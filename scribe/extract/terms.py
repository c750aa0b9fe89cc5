"""The agreed terms the mediator dictates, and how, where and by when they are performed.

Mediators close a hearing by reading the terms aloud after a cue ("经调解，双方自愿达成如下
协议", "我把协议内容念一下"), numbering them ("第一，…第二条，…"), with parties' short
assents ("同意", "没意见") in between, and end with a closing cue ("以上协议…", "双方有没有意见",
"签字"). Only the mediator's words after the cue count as terms: a party's proposal is not a
term until the mediator states it as agreed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import cn2an

from scribe.casefile import StaffRole
from scribe.extract.dialogue import Dialogue, Utterance
from scribe.extract.quantities import Amount, Deadline, find_amounts, find_deadlines, parse_numeral

OPEN_CUE = re.compile(
    r"(自愿)?达成(了)?(如下|以下|下列)?(调解)?协议|协议(的)?内容(如下|是这样|念一下|宣读)"
    r"|(我|现在)(把|来)?(协议|调解协议)(内容)?(念|读|宣读)[一1]?下|双方(一致)?同意如下"
)
CLOSE_CUE = re.compile(
    r"以上(协议|内容|条款)|本协议一式|双方(还)?(有没有|是否有|有什么)(意见|异议)|(没有|无)(其他)?异议的话"
    r"|(请|下面)?(双方)?(签字|签名|按手印|按指印)|协议(自|从).{0,8}生效"
)
# Enumerators as spoken and as recognised: 第一，/第一条/一、/（一）/1、/首先/其次/最后
ENUMERATOR = re.compile(
    r"(?:(?<=[，。；：,.;:\s])|^)(?:第[一二三四五六七八九十\d]+(?:条|项|点)?[，,、：:.．]?"
    r"|[一二三四五六七八九十]+[、.．]|（[一二三四五六七八九十\d]+）|\d+[、.．](?!\d)"
    r"|首先[，,]?|其次[，,]?|再次[，,]?|另外[，,]?|最后[，,]?)"
)
ASSENT = re.compile(r"^(好|好的|行|可以|同意|没意见|没有意见|我同意|嗯|对|是的|没问题)[。！!，,]?$")
MANNER_WORDS = (
    ("银行转账", r"银行转账|转账到.{0,6}(卡|账户)|打到.{0,6}(卡|账户)"),
    ("微信转账", r"微信"),
    ("支付宝转账", r"支付宝"),
    ("现金", r"现金"),
    ("当面支付", r"当面.{0,8}(支付|付清|给付|交付)"),
)
INSTALMENT_RE = re.compile(r"分\s*([\d一二两三四五六七八九十]+)\s*(期|次)")
PLACE_RE = re.compile(
    r"(?:在|到)([\u4e00-\u9fff]{2,14}?(?:司法所|调解室|调解委员会|村委会|居委会|家中|家里|现场|营业厅))(?!卡|账)"
)


@dataclass(frozen=True)
class Term:
    text: str
    utterances: tuple[Utterance, ...]
    amounts: tuple[Amount, ...] = ()
    deadlines: tuple[Deadline, ...] = ()


@dataclass(frozen=True)
class DictatedTerms:
    cue: Utterance | None
    terms: tuple[Term, ...] = ()
    closing: Utterance | None = None
    assents: tuple[Utterance, ...] = field(default=())


def dictated_terms(dialogue: Dialogue, session_date: dt.date) -> DictatedTerms:
    mediators = {StaffRole.MEDIATOR}
    utterances = list(dialogue)
    start_idx = None
    for i, u in enumerate(utterances):
        if u.role in mediators and OPEN_CUE.search(u.text):
            start_idx = i  # the last cue wins: a mediator may restate revised terms
    if start_idx is None:
        return DictatedTerms(cue=None)
    cue = utterances[start_idx]
    pieces: list[tuple[str, Utterance]] = []
    m = OPEN_CUE.search(cue.text)
    assert m is not None
    head = cue.text[m.end() :].lstrip("：:，,。 ")
    closing = None
    assents: list[Utterance] = []
    if head:
        head, closed = _cut_at_close(head)
        pieces.append((head, cue))
        if closed:
            closing = cue
    if closing is None:
        for u in utterances[start_idx + 1 :]:
            if u.role in mediators:
                body, closed = _cut_at_close(u.text)
                if body:
                    pieces.append((body, u))
                if closed:
                    closing = u
                    break
            elif ASSENT.match(u.text.strip()) or len(u.text) <= 6:
                assents.append(u)
            # a party's longer remark during the reading does not end the terms: the mediator
            # continues or restates; it is simply not part of them.
    terms = _split_terms(pieces, session_date)
    return DictatedTerms(cue=cue, terms=tuple(terms), closing=closing, assents=tuple(assents))


def _cut_at_close(text: str) -> tuple[str, bool]:
    m = CLOSE_CUE.search(text)
    if m is None:
        return text.strip(), False
    return text[: m.start()].strip(), True


def _split_terms(pieces: list[tuple[str, Utterance]], session_date: dt.date) -> list[Term]:
    # Join the dictated text, remembering which utterance each character came from.
    chunks: list[tuple[str, list[Utterance]]] = []
    for text, u in pieces:
        parts = _split_enumerated(text)
        if not parts:
            continue
        for k, (enumerated, part) in enumerate(parts):
            if k == 0 and not enumerated and chunks:
                # the utterance continues the previous term (a pause mid-sentence)
                prev_text, prev_us = chunks[-1]
                chunks[-1] = (prev_text + part, prev_us + [u])
            else:
                chunks.append((part, [u]))
    if len(chunks) == 1 and not _split_enumerated(chunks[0][0])[0][0]:
        # no enumerators at all: one term per sentence
        text, us = chunks[0]
        chunks = [(s, us) for s in re.split(r"(?<=[。；;])", text) if s.strip("。；; ")]
    terms = []
    for text, us in chunks:
        clean = text.strip().strip("，,；;、 ").rstrip("。") + "。"
        if len(clean) < 4:
            continue
        terms.append(
            Term(
                text=clean,
                utterances=tuple(dict.fromkeys(us)),
                amounts=tuple(find_amounts(clean)),
                deadlines=tuple(find_deadlines(clean, session_date)),
            )
        )
    return terms


def _split_enumerated(text: str) -> list[tuple[bool, str]]:
    """[(starts_with_enumerator, text)] pieces of one utterance."""
    marks = list(ENUMERATOR.finditer(text))
    if not marks:
        return [(False, text)] if text.strip() else []
    out: list[tuple[bool, str]] = []
    if text[: marks[0].start()].strip("，,。；; "):
        out.append((False, text[: marks[0].start()]))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end() : end]
        if body.strip("，,。；; "):
            out.append((True, body))
    return out


def performance_manner(terms: list[Term]) -> tuple[str | None, list[Term]]:
    """'分三期，银行转账' etc. from the terms' own words; None when they do not say."""
    found: list[str] = []
    sources: list[Term] = []
    for term in terms:
        m = INSTALMENT_RE.search(term.text)
        count = parse_numeral(m.group(1)) if m else None
        label = f"分{cn2an.an2cn(int(count))}期" if count else None  # 分3期 and 分三期 alike
        if label and label not in found:
            found.append(label)
            sources.append(term)
        for label, pattern in MANNER_WORDS:
            if re.search(pattern, term.text) and label not in found:
                found.append(label)
                sources.append(term)
    return ("、".join(found) if found else None), list(dict.fromkeys(sources))


def performance_place(terms: list[Term]) -> tuple[str | None, Term | None]:
    for term in terms:
        m = PLACE_RE.search(term.text)
        if m:
            return m.group(1), term
    return None, None
