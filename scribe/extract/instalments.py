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

from dateutil.relativedelta import relativedelta

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
        if f.status == "accepted" and f.kind == "支付" and f.obligors and not f.schedule:
            monthly = monthly_plan(f.utt.text, casefile.date)
            if monthly:
                f = replace(f, schedule=tuple(monthly), deadlines=())
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


# "从2027年1月开始，每月十五号前还五千，到2027年10月十五号还完，一共十期五万": a monthly plan —
# the day of the month, the amount each month, when it starts and when (or after how many
# instalments) it ends. Open-ended payments (赡养费 每个月十号之前) have no end and stay periodic.
MONTHLY_RE = re.compile(r"每(?:个)?月\s*([\d一二两三四五六七八九十]{1,3})\s*(?:号|日)\s*(?:之前|以前|前)?\s*"
                        r"(?:[还付给交转打]|支付|还款)?\s*([\d一二两三四五六七八九十百千万.]+)\s*(万元|万块|万|元|块钱|块)?")
START_RE = re.compile(r"从\s*(?:([\d〇零一二两三四五六七八九十]{2,4}|今|明)\s*年)?\s*([\d一二两三四五六七八九十]{1,3})\s*月份?\s*(?:开始|起)|"
                      r"(下个月|下月)\s*(?:开始|起)")
TERMS_RE = re.compile(r"(?:一共|共|分)\s*([\d一二两三四五六七八九十]+)\s*期|([\d一二两三四五六七八九十]+)\s*个月还清")
_YEAR_DIGITS = str.maketrans("〇零一二两三四五六七八九", "00122345678" + "9")


def _year(raw: str, session: dt.date | None = None) -> int | None:
    if raw in ("今", "明") and session is not None:
        return session.year + (raw == "明")
    digits = raw.translate(_YEAR_DIGITS)
    if not digits.isdigit():
        return None
    y = int(digits)
    return y + 2000 if y < 100 else y


def monthly_plan(text: str, session: dt.date) -> list[tuple[dt.date, Decimal]]:
    """The instalments of a monthly plan said with its end: each date and amount, or [] when the
    plan is open-ended or its numbers disagree (count x amount must be the total when both are said)."""
    m = MONTHLY_RE.search(text)
    if not m:
        return []
    day, each = parse_numeral(m.group(1)), parse_numeral(m.group(2))
    if day is None or each is None or not 1 <= int(day) <= 28:
        return []
    if m.group(3) and m.group(3).startswith("万"):
        each *= 10_000
    if each < 50:
        return []
    start = START_RE.search(text)
    if start and start.group(3):
        first = (session.replace(day=1) + relativedelta(months=1)).replace(day=int(day))
    elif start:
        month = parse_numeral(start.group(2))
        if month is None or not 1 <= int(month) <= 12:
            return []
        year = _year(start.group(1), session) if start.group(1) else None
        if year is None:
            year = session.year if int(month) >= session.month else session.year + 1
        first = dt.date(year, int(month), int(day))
    else:
        first = session.replace(day=int(day))
        if first <= session:
            first = (session.replace(day=1) + relativedelta(months=1)).replace(day=int(day))
    if first < session:
        return []
    count = TERMS_RE.search(text)
    n = int(parse_numeral(count.group(1) or count.group(2)) or 0) if count else None
    ends = [d.date for d in find_deadlines(text[m.end():], session)
            if d.kind == "absolute" and d.date.day == int(day) and d.date > first]
    if ends:
        by_end = (ends[-1].year - first.year) * 12 + ends[-1].month - first.month + 1
        if n is not None and n != by_end:
            return []
        n = by_end
    masked = text
    for d in find_deadlines(text, session):
        masked = masked[:d.start] + "　" * (d.end - d.start) + masked[d.end:]
    totals = [a.yuan for a in find_amounts(masked) + find_bare_amounts(masked)
              if re.search(r"一共|共计|总共|合计|共", masked[max(0, a.start - 6):a.start])]
    if n is None and totals and totals[-1] % each == 0:
        n = int(totals[-1] / each)
    if not n or n < 2 or n > 120:
        return []
    if totals and totals[-1] != each * n:
        return []
    return [(first + relativedelta(months=k), each) for k in range(n)]
