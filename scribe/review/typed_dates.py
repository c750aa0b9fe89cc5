"""Dates as reviewers type them into a date field: 2026-12-31, 2026/12/31, 2026.12.31,
2026年12月31日（前）, 十二月三十一日, 12月31日, 年底 … become the ISO date the document's schema
takes. The spoken forms are read by the drafter's own date reader
(``scribe.extract.quantities.find_deadlines``), so a date typed and a date said mean the same;
the numeric forms people write by hand are read here."""

from __future__ import annotations

import datetime as dt
import re

from scribe.extract.quantities import find_deadlines

_NUMERIC = re.compile(r"^\s*(\d{4})\s*[-/.．]\s*(\d{1,2})\s*[-/.．]\s*(\d{1,2})\s*(?:日|号)?\s*(?:前|之前|以前)?\s*$")


def parse_typed_date(text: str, reference: dt.date) -> dt.date | None:
    """The one date ``text`` names (None: none, or more than one). ``reference``: the hearing's
    date, which a date without a year, or 年底, is counted from."""
    m = _NUMERIC.match(text)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    found = find_deadlines(text.strip(), reference)
    dates = {d.date for d in found}
    return dates.pop() if len(dates) == 1 else None
