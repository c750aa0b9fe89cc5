"""Amounts of money, relative and absolute deadlines, in spoken Chinese or recogniser digits.

Whisper writes some numbers as digits ("3万") and others as characters ("三万五千"), so each
pattern accepts both and numerals go through ``cn2an``. Converting a whole sentence with
``cn2an.transform`` is avoided on purpose: it also turns names (李四 -> 李4) and words
(一起, 统一) into digits.

Relative deadlines count from the session date: "十五日内" said on 2026-11-20 is 2026-12-05.
Calendar arithmetic (month ends, adding months) uses ``dateutil``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import cn2an
from dateutil.relativedelta import relativedelta

_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
NUMERAL = rf"[\d{_CN_DIGITS}][\d{_CN_DIGITS}点\.,，]*"


def parse_numeral(text: str) -> Decimal | None:
    """'三万五千' -> 35000, '3.5万' -> 35000, '1,500' -> 1500, '两' -> 2; None if not a number."""
    raw = text.strip().replace(",", "").replace("，", "").replace("两", "二").replace("〇", "零")
    if not raw:
        return None
    multiplier = Decimal(1)
    # digits followed by a unit character, the recogniser's way of writing 3.5万 / 2千
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([十百千万亿]+)", raw)
    if m:
        units = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
        for ch in m.group(2):
            multiplier *= units[ch]
        return Decimal(m.group(1)) * multiplier
    try:
        return Decimal(raw)
    except InvalidOperation:
        pass
    try:
        value = cn2an.cn2an(raw, "smart")
    except (ValueError, KeyError, TypeError):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Amount:
    yuan: Decimal
    phrase: str  # the words as said, e.g. 三万五千元
    start: int  # offset in the text it was found in
    end: int

    @property
    def display(self) -> str:
        """``35000元（叁万伍仟元整）``: digits plus the financial capitals used on agreements."""
        digits = f"{self.yuan:,.2f}".rstrip("0").rstrip(".") if self.yuan % 1 else f"{int(self.yuan)}"
        return f"{digits}元（{to_rmb_capitals(self.yuan)}）"


_AMOUNT_RE = re.compile(rf"(人民币)?({NUMERAL})\s*(万元|万块|万|元|块钱|块)(?![a-zA-Z])")


def find_amounts(text: str) -> list[Amount]:
    out = []
    for m in _AMOUNT_RE.finditer(text):
        number = parse_numeral(m.group(2))
        if number is None:
            continue
        unit = m.group(3)
        if unit.startswith("万"):
            number *= 10_000
        # "三万" with no currency word is money only when nothing follows it ("三万人" is not)
        if unit == "万" and re.match(r"[\u4e00-\u9fff]", text[m.end() : m.end() + 1]):
            continue
        if number <= 0:
            continue
        if unit == "块" and re.search(r"[这那哪每]\s*$", text[max(0, m.start() - 2):m.start()]) and m.group(2) == "一":
            continue  # "退费这一块": this part (of the dispute), not one yuan
        if unit == "块" and number <= 10 and re.match(r"[\u4e00-\u9fff]", text[m.end():m.end() + 1]) \
                and not re.match(r"[钱五一二两三四六七八九左多的]", text[m.end():m.end() + 1]):
            continue  # "补一块漆" / "两块砖": a measure word for a thing
        out.append(Amount(yuan=number, phrase=m.group(0), start=m.start(), end=m.end()))
    return out


_BARE_RE = re.compile(r"(?<![\d一二两三四五六七八九十百千万第每])([\d一二两三四五六七八九十]+[百千万][\d一二两三四五六七八九十百千万]*|\d{3,6})(?![\d一二两三四五六七八九十百千万])")
_COUNTER_AFTER = re.compile(r"^\s*(个|人|天|日|号|月|年|期|次|米|亩|平|斤|公斤|岁|点|分|%|栋|单元|室|楼|多|来|户|家|间|台|辆|公里|块地|份)")


def find_bare_amounts(text: str) -> list[Amount]:
    """Money said without 元/块, as people haggle: "两千三", "给八百", "3000" — only for a clause
    already known to be about paying; a number followed by a counter word (三天, 五个人) is not money."""
    out = []
    for m in _BARE_RE.finditer(text):
        if _COUNTER_AFTER.match(text[m.end():m.end() + 3]):
            continue
        if re.search(r"(年|月|号|日|第)$", text[max(0, m.start() - 1):m.start()]) \
                and not re.search(r"每个?(?:月|年)$", text[max(0, m.start() - 3):m.start()]):
            continue  # "3月10": a date; but "每个月一千五" is a sum a month
        number = parse_numeral(m.group(1))
        if number is None or number < 50:
            continue
        out.append(Amount(yuan=number, phrase=m.group(0), start=m.start(), end=m.end()))
    return out


def to_rmb_capitals(yuan: Decimal) -> str:
    try:
        return str(cn2an.an2cn(str(yuan.normalize() if yuan % 1 else int(yuan)), "rmb"))
    except (ValueError, KeyError):
        return ""


@dataclass(frozen=True)
class Deadline:
    date: dt.date
    phrase: str  # as said: 十五日内, 本月底, 12月20日前
    kind: str  # relative | month_end | year_end | absolute
    start: int
    end: int


_DURATION_RE = re.compile(
    rf"({NUMERAL}|半)\s*(个工作日|个自然日|日|天|个星期|星期|个礼拜|礼拜|周|个月|月|年)(之内|以内|内)"
)
_MONTH_END_RE = re.compile(r"(本月|这个月|当月|下个月|下月)(底|末|月底)|(?<![\d一二三四五六七八九十])月底")
_YEAR_END_RE = re.compile(r"(今年|本年|年)(底|末)")
_DATE_NUM = r"[\d〇零一二两三四五六七八九十]{1,4}"  # no separators: "三万，12月31号" is two things
_ABS_DATE_RE = re.compile(
    rf"(?:({_DATE_NUM})\s*年)?\s*({_DATE_NUM})\s*月\s*({_DATE_NUM})\s*(?:日|号)(前|之前|以前|当天|内)?"
)


# 春节 (first day of the lunar year): "年前" / "春节前" means by its eve. A fact table, not a rule.
SPRING_FESTIVAL = {
    2025: dt.date(2025, 1, 29), 2026: dt.date(2026, 2, 17), 2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26), 2029: dt.date(2029, 2, 13), 2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23), 2032: dt.date(2032, 2, 11), 2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19), 2035: dt.date(2035, 2, 8),
}
_NAMED_MONTH_END_RE = re.compile(r"(?<![\d一二三四五六七八九十])([\d一二三四五六七八九十]{1,3})\s*月\s*(?:底|末|份底)")
_TODAY_RE = re.compile(r"今天(?=就|之内|内|当场|下班前|中午|下午|晚上|把)|当天|当场|今日内|现在就|马上就|就现在|现在(?=给|付|转|还|退)")
_NEW_YEAR_RE = re.compile(r"(?<![今明去])(年前|春节前|过年前|春节之前|过年之前)")
_DAY_OF_MONTH_RE = re.compile(
    rf"(下个月|下月|这个月|本月|当月)\s*({NUMERAL})\s*(?:日|号)|(?<![月\d一二三四五六七八九十])({NUMERAL})\s*(?:日|号)(?=\s*(?:前|之前|以前))"
)


# "这个礼拜六" / "下周一" / "本星期五": a weekday in this or the next week, counted from the session date
_WEEKDAY_RE = re.compile(r"(这个|这|本|下个|下)(礼拜|星期|周)([一二三四五六日天])")
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


def spring_festival_eve(after: dt.date) -> dt.date | None:
    for year in (after.year, after.year + 1):
        day = SPRING_FESTIVAL.get(year)
        if day and day > after:
            return day - dt.timedelta(days=1)
    return None


def find_deadlines(text: str, session_date: dt.date) -> list[Deadline]:
    """Every deadline phrase in ``text`` resolved to a calendar date, in text order."""
    found: list[Deadline] = []
    taken: list[tuple[int, int]] = []

    def add(d: dt.date, m: re.Match[str], kind: str) -> None:
        if any(m.start() < e and s < m.end() for s, e in taken):
            return
        taken.append((m.start(), m.end()))
        found.append(Deadline(d, m.group(0), kind, m.start(), m.end()))

    for m in _ABS_DATE_RE.finditer(text):
        month = parse_numeral(m.group(2))
        day = parse_numeral(m.group(3))
        year = parse_numeral(m.group(1)) if m.group(1) else None
        if month is None or day is None:
            continue
        y = int(year) if year is not None else session_date.year
        if y < 100:
            y += 2000
        said_year = re.search(r"(去年|前年|今年|明年|后年)\s*$", text[max(0, m.start() - 3):m.start()])
        if year is None and said_year:
            y = session_date.year + {"前年": -2, "去年": -1, "今年": 0, "明年": 1, "后年": 2}[said_year.group(1)]
        try:
            d = dt.date(y, int(month), int(day))
        except ValueError:
            continue
        if year is None and not said_year and d < session_date:
            d = d.replace(year=d.year + 1)  # "3月10日前" said in November means next March
        add(d, m, "absolute")
    for m in _DURATION_RE.finditer(text):
        n_raw = m.group(1)
        n = Decimal("0.5") if n_raw == "半" else parse_numeral(n_raw)
        if n is None:
            continue
        unit = m.group(2)
        if unit in ("日", "天", "个自然日"):
            d = session_date + dt.timedelta(days=int(n))
        elif unit == "个工作日":
            d = _add_working_days(session_date, int(n))
        elif unit in ("个星期", "星期", "个礼拜", "礼拜", "周"):
            d = session_date + dt.timedelta(weeks=int(n))
        elif unit in ("个月", "月"):
            d = session_date + (relativedelta(days=15) if n == Decimal("0.5") else relativedelta(months=int(n)))
        else:
            d = session_date + relativedelta(years=int(n))
        add(d, m, "relative")
    for m in _MONTH_END_RE.finditer(text):
        base = session_date
        if m.group(1) in ("下个月", "下月"):
            base = session_date + relativedelta(months=1)
        last = calendar.monthrange(base.year, base.month)[1]
        add(base.replace(day=last), m, "month_end")
    for m in _YEAR_END_RE.finditer(text):
        add(dt.date(session_date.year, 12, 31), m, "year_end")
    for m in _DAY_OF_MONTH_RE.finditer(text):
        day = parse_numeral(m.group(2) or m.group(3))
        if day is None or not 1 <= int(day) <= 31:
            continue
        base = session_date
        if m.group(1) in ("下个月", "下月"):
            base = session_date + relativedelta(months=1)
        try:
            d = base.replace(day=int(day))
        except ValueError:
            continue
        if m.group(1) is None and d < session_date:  # "十号前" said on the 20th: next month's tenth
            d = d + relativedelta(months=1)
        add(d, m, "day_of_month")
    for m in _NAMED_MONTH_END_RE.finditer(text):
        month = parse_numeral(m.group(1))
        if month is None or not 1 <= int(month) <= 12:
            continue
        year = session_date.year if int(month) >= session_date.month else session_date.year + 1
        add(dt.date(year, int(month), calendar.monthrange(year, int(month))[1]), m, "month_end")
    for m in _WEEKDAY_RE.finditer(text):
        monday = session_date - dt.timedelta(days=session_date.weekday())
        if m.group(1).startswith("下"):
            monday += dt.timedelta(days=7)
        d = monday + dt.timedelta(days=_WEEKDAYS[m.group(3)])
        if d >= session_date:
            add(d, m, "weekday")
    for m in _TODAY_RE.finditer(text):
        add(session_date, m, "today")
    for m in _NEW_YEAR_RE.finditer(text):
        eve = spring_festival_eve(session_date)
        if eve:
            add(eve, m, "spring_festival")
    found.sort(key=lambda d: d.start)
    return found


def _add_working_days(start: dt.date, days: int) -> dt.date:
    # Weekends only; public holidays vary by year and are the reviewer's to check.
    d = start
    while days > 0:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            days -= 1
    return d


def format_date(d: dt.date) -> str:
    """``2026年12月05日`` is how agreements print dates (zero-padded, so columns align)."""
    return f"{d.year}年{d.month:02d}月{d.day:02d}日"
