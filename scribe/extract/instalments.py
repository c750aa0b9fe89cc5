"""The dates of an agreed instalment plan said apart from the obligation.

"分三次，每次一万，都是微信转给老谭" is agreed without its dates; the dates were settled in the
haggling just before ("12月31号一万，2月28号一万，4月30号一万") or are read out again after it ("三期
日期刚才说的：12月31号、2月28号、4月30号，每期一万"). An accepted payment said per instalment
(每次 / 每期 / 分N次) with no schedule of its own takes the plan said nearest after the haggling —
the latest one, so a date corrected on the way (2月10号 -> 2月28号) is read as corrected — and only
when the plan is consistent with it: as many dates as instalments said, each for the amount said per
instalment. Otherwise the dates stay missing for the reviewer.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal

from scribe.casefile import CaseFile
from scribe.extract.clauses import clauses_of
from scribe.extract.dialogue import Dialogue, Utterance
from scribe.extract.mentions import principal
from scribe.extract.quantities import find_amounts, find_bare_amounts, find_deadlines, parse_numeral

PER_RE = re.compile(r"(?:每次|每期|每一期)\s*([\d一二两三四五六七八九十百千万.]+)\s*(万元|万块|万)?")
COUNT_RE = re.compile(r"分\s*([\d一二两三四五六七八九十]+)\s*(?:次|期)")
WINDOW = 10  # utterances either side of the obligation


def complete(frames: list, dialogue: Dialogue, casefile: CaseFile) -> list:  # list[Frame]
    utts = list(dialogue)
    pos = {u.index: i for i, u in enumerate(utts)}
    out = []
    for f in frames:
        if f.status == "accepted" and f.kind == "支付" and f.obligors and not f.schedule and not f.deadlines:
            said = f.utt.text
            per = _per(said)
            count = COUNT_RE.search(said)
            n = int(parse_numeral(count.group(1)) or 0) if count else None
            if per is not None or n:
                i = pos[f.utt.index]
                parties = set(f.obligors) | set(f.obligees)
                plan = None
                for u in utts[max(0, i - WINDOW):i + WINDOW + 1]:
                    if u is f.utt:
                        continue
                    who = principal(casefile, casefile.speakers.get(u.speaker or ""))
                    if not u.is_staff and who not in parties:
                        continue
                    got = plan_in(u, casefile.date, per)
                    if got and (n is None or len(got) == n) and (per is None or all(y == per for _, y in got)):
                        plan = (got, u)  # the latest consistent one wins
                if plan is not None:
                    got, u = plan
                    f = replace(f, schedule=tuple(got), scheduled=tuple(clauses_of(u)))
        out.append(f)
    return out


def _per(text: str) -> Decimal | None:
    m = PER_RE.search(text)
    if not m:
        return None
    value = parse_numeral(m.group(1))
    if value is None:
        return None
    return value * 10_000 if m.group(2) else value


def plan_in(u: Utterance, session: dt.date, per: Decimal | None) -> list[tuple[dt.date, Decimal]]:
    """Each instalment date said in ``u`` with its amount: "12月31号一万，2月28号一万", or dates
    listed and one amount "每期一万" for all of them."""
    from scribe.extract.obligations import _schedule

    text = u.text
    pairs = _schedule(text, session)
    if len(pairs) >= 2:
        return sorted(pairs)
    dates = [d.date for d in find_deadlines(text, session) if d.date >= session and d.kind == "absolute"]
    each = _per(text)
    if len(dates) >= 2 and dates == sorted(set(dates)) and each is not None:
        masked = text
        for d in find_deadlines(text, session):
            masked = masked[:d.start] + "　" * (d.end - d.start) + masked[d.end:]
        others = {a.yuan for a in find_amounts(masked) + find_bare_amounts(masked)} - {each}
        if not others:  # no other money in it: the plan and nothing else
            return [(d, each) for d in dates]
    return []
