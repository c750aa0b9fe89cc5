"""When and where agreed things change hands, said once for several terms.

A mediator often goes through the terms and then says how they are performed together: "钱和锁
你们当面交，就在我们司法所交，下礼拜一上午九点". Such an *arrangement* is a staff sentence with a
handover word (当面 / 交 / 一手交钱一手交货 / 过来) and a place or a date, but no amount and no
obligation of its own. It sets the deadline (and the place) of the accepted payments and returns
said before it that have none. A later arrangement replaces an earlier one (the date was moved
because someone could not come); one a party turns down straight away sets nothing.
"""

from __future__ import annotations

import re
from dataclasses import replace

from scribe.casefile import CaseFile
from scribe.extract import acts
from scribe.extract.clauses import Clause, clauses_of, sentences_of
from scribe.extract.dialogue import Dialogue
from scribe.extract.quantities import find_amounts, find_deadlines

NOT_A_TERM = re.compile(r"司法确认|强制执行|起诉|法院|仲裁|诉讼|打印|签字|签名|按手印|盖章|拍照|复印|协议")

HANDOVER_RE = re.compile(r"当面|交接|一手交|(?<!提)交(?!通|警|流|代|易|费)|过来|到场")
PLACE_WORD = re.compile(r"司法所|调解室|调解委员会|村委会|居委会|村部|服务中心|派出所|现场")
HANDED = ("支付", "归还")  # what changes hands: money and things
WINDOW = 8  # utterances after the last term an arrangement may follow


def arrange(frames: list, dialogue: Dialogue, casefile: CaseFile) -> list:  # list[Frame]
    utts = list(dialogue)
    pos = {u.index: i for i, u in enumerate(utts)}
    in_frames = {(c.utt.index, c.a) for f in frames for c in f.clauses}
    accepted = [f for f in frames if f.status == "accepted" and f.kind in HANDED and f.obligors]
    if not accepted:
        return frames
    chosen: tuple[list[Clause], object] | None = None  # (clauses, first deadline)
    for i, u in enumerate(utts):
        if not u.is_staff:
            continue
        before = [f for f in accepted if pos[f.utt.index] < i and i - pos[f.utt.index] <= WINDOW]
        if not before:
            continue
        for sentence in sentences_of(clauses_of(u)):
            if any((c.utt.index, c.a) in in_frames for c in sentence):
                continue
            text = "".join(c.text for c in sentence)
            if find_amounts(text) or acts.is_conditional(text) or acts.is_question(text) or NOT_A_TERM.search(text):
                continue
            dates = [d for d in find_deadlines(text, casefile.date) if d.date >= casefile.date]
            if not HANDOVER_RE.search(text) or not (dates or PLACE_WORD.search(text)):
                continue
            if _turned_down(utts, i):
                continue
            chosen = (sentence, dates[0] if dates else None)
    if chosen is None:
        return frames
    sentence, deadline = chosen
    out = []
    for f in frames:
        if f in accepted and pos[f.utt.index] < pos[sentence[0].utt.index]:
            f = replace(f, arranged=tuple(sentence),
                        deadlines=f.deadlines if f.deadlines or deadline is None else (deadline,))
        out.append(f)
    return out


def _turned_down(utts: list, i: int) -> bool:
    """The next party to speak says no to it ("下礼拜一我要上班的，走不开")."""
    for v in utts[i + 1:i + 3]:
        if v.is_staff:
            continue
        return acts.is_rejection(v.text) or bool(re.search(r"走不开|来不了|没空|没时间|不方便|不行", v.text))
    return False
