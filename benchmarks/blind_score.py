"""Scoring drafts of the blind set (tests/data/blind) against what a clerk expects.

Written before the drafting rules it judges, and independent of them: amounts and dates in the drafts
are read here with this module's own small parsers, never with the drafter's, so a drafter cannot
hide a wrong value by failing to parse it.

Facts (recall): for a mediation the outcome, each agreed term (its ``must_contain`` strings, its
amount, its deadline or every instalment of its schedule, all in one drafted term), the latest
deadline, the place, each manner of performance, the category, the facts summary's keywords and,
for a hearing that reached no agreement, that the record tells the parties of court/arbitration; for
a consultation each fact of the question, each advice keyword, each legal basis, each handling
outcome, the follow-up and the category.

Wrong values (the figure that must be 0): an agreement drafted for a hearing that reached none
(调解不成 / 调解终止), a value listed in ``must_not_appear`` (rejected offers, superseded versions,
narrative dates, the 司法确认 date, places from warnings) appearing in the drafted terms, amounts,
deadlines or place; an amount or date in an agreed term that belongs to no expected term (invented);
a declined or merely mentioned consultation outcome drafted as done.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import warnings

import cn2an
import opencc

_T2S = opencc.OpenCC("t2s")
warnings.filterwarnings("ignore", module="cn2an")  # colloquial ranges (七八万) it cannot convert stay as words
FAILED = {"调解不成", "调解终止"}
WAIVED_WHY = re.compile(r"放弃|撤回|不再要求|不要了")  # the writer says the claim was given up
WAIVER_TERM = re.compile(r"放弃|不再要求|不再主张|不再追究|不要[^，。；]{0,8}了|就算了|撤回")
OUTCOME_ALIASES = {"解答完毕": "已解答", "引导劳动仲裁": "引导仲裁"}


def norm(text: Any) -> str:
    text = _T2S.convert(str(text or ""))
    try:
        text = cn2an.transform(text, "cn2an")
    except (ValueError, KeyError, IndexError):
        pass
    text = text.replace("块钱", "元").replace("块", "元")
    # a length said the spoken way: 一米二 is 1.2 m, 十二米六 12.6 m (not "12米" and a 6)
    text = re.sub(r"(\d+)米(\d)(?![\d.])", r"\1.\2米", text)
    return re.sub(r"[\s，,。；;：:、《》“”\"'（）()！!？?·\-]", "", text)


_NUM = r"(\d+(?:\.\d+)?)"
_AMOUNT = re.compile(_NUM + r"\s*(万|千)?\s*(元|块|万元)?")


def amounts_in(text: str) -> set[int]:
    """Yuan amounts in a text: numbers followed by 元/块/万 (after numerals are turned to digits)."""
    t = norm(text)
    out = set()
    for m in re.finditer(_NUM + r"(万|千)?(元)", t):
        value = float(m.group(1)) * {"万": 10000, "千": 1000, None: 1}[m.group(2)]
        out.add(int(round(value)))
    for m in re.finditer(_NUM + r"万(?!元)", t):
        out.add(int(round(float(m.group(1)) * 10000)))
    return out


def dates_in(text: str, session: dt.date) -> set[str]:
    """ISO dates written out in a text (2027年1月5日, 1月5号, 2027-01-05); a month/day without a year is
    the next such day on or after the session date."""
    t = norm(text)
    out = set()
    for m in re.finditer(r"(\d{4})-(\d{1,2})-(\d{1,2})", str(text)):
        out.add(_iso(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    for m in re.finditer(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]", t):
        year = int(m.group(1)) if m.group(1) else None
        month, day = int(m.group(2)), int(m.group(3))
        if year is None:
            year = session.year
            try:
                if dt.date(year, month, day) < session:
                    year += 1
            except ValueError:
                continue
        out.add(_iso(year, month, day))
    return {d for d in out if d}


def _iso(y: int, m: int, d: int) -> str:
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return ""


@dataclass
class Counts:
    facts: int = 0
    found: int = 0
    wrong: int = 0
    failed_agreements: int = 0
    per_field: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))  # tp fp fn
    misses: list[str] = field(default_factory=list)
    wrongs: list[str] = field(default_factory=list)
    quotes: int = 0
    verbatim: int = 0
    quote_chars: int = 0

    def fact(self, item: str, name: str, ok: bool, what: str = "") -> None:
        self.facts += 1
        self.found += ok
        self.per_field[name][0 if ok else 2] += 1
        if not ok:
            self.misses.append(f"{item} {name}: {what}")

    def invented(self, item: str, name: str, what: str, *, wrong: bool = True) -> None:
        self.per_field[name][1] += 1
        if wrong:
            self.wrong += 1
            self.wrongs.append(f"{item} {name}: {what}")

    def merge(self, other: Counts) -> None:
        self.facts += other.facts
        self.found += other.found
        self.wrong += other.wrong
        self.failed_agreements += other.failed_agreements
        for k, v in other.per_field.items():
            for i in range(3):
                self.per_field[k][i] += v[i]
        self.misses += other.misses
        self.wrongs += other.wrongs
        self.quotes += other.quotes
        self.verbatim += other.verbatim
        self.quote_chars += other.quote_chars


def _texts(values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    if isinstance(values, dict):
        return [str(v) for v in values.values() if v is not None]
    return [v if isinstance(v, str) else str(v) for v in values if v is not None]


def _outcome_of(record: dict[str, Any], agreement: dict[str, Any]) -> str | None:
    """The drafted outcome: the hearing record's ``result`` (``{"outcome": ...}`` or a string), or the
    agreement's ``outcome``; a drafter without one is read by what it did (terms drafted -> 达成协议)."""
    for values in (record.get("values") or {}, agreement.get("values") or {}):
        for key in ("result", "outcome"):
            got = values.get(key)
            if isinstance(got, dict):
                got = got.get("outcome")
            if isinstance(got, str) and got:
                return got
    if not agreement.get("refused") and _texts((agreement.get("values") or {}).get("terms")):
        return "达成协议"
    return None


def score_item(item: Any, pred: dict[str, Any]) -> Counts:
    """``item``: a tests.blind.BlindItem; ``pred``: one entry of blind_predict.py's output."""
    c = Counts()
    exp = item.expected
    session = item.casefile.date
    text_all = "".join(s.text for s in item.transcript.segments)
    segs = [s.text for s in item.transcript.segments]
    for d in pred["drafts"].values():
        for ev in d.get("evidence", []):
            c.quotes += 1
            c.quote_chars += len(ev["quote"] or "")
            seg = ev.get("segment")
            inside = segs[seg] if isinstance(seg, int) and 0 <= seg < len(segs) else text_all
            c.verbatim += bool(ev["quote"]) and ev["quote"] in inside
    if item.session_type == "mediation":
        _score_mediation(item.id, exp, session, pred["drafts"], c)
    else:
        _score_consultation(item.id, exp, session, pred["drafts"]["consultation-record"], c)
    return c


def _score_mediation(iid: str, exp: dict[str, Any], session: dt.date, drafts: dict[str, Any], c: Counts) -> None:
    agreement = drafts.get("mediation-agreement", {"refused": True, "values": {}})
    record = drafts.get("hearing-record", {"refused": True, "values": {}})
    av = agreement.get("values") or {}
    outcome = _outcome_of(record, agreement)
    c.fact(iid, "mediation_outcome", outcome == exp["outcome"], f"{outcome} for {exp['outcome']}")
    drafted_terms = [] if agreement.get("refused") else _texts(av.get("terms"))
    deadline_items = _texts(av.get("deadlines"))

    def term_dates(n: int, text: str) -> set[str]:
        got = dates_in(text, session)
        label = f"第{cn2an.an2cn(n)}条"
        for d in deadline_items:
            if d.startswith(label):
                got |= dates_in(d, session)
        return got

    drafted = [(norm(t), amounts_in(t), term_dates(n, t)) for n, t in enumerate(drafted_terms, 1)]
    # A waiver term ("邵志远放弃五千元补偿的要求") says a claim is given up: the value it names is not
    # presented as agreed. Excused only where the writer's own trap says that value was given up.
    given_up = [str(t["value"]) for t in exp.get("must_not_appear") or [] if WAIVED_WHY.search(t.get("why", ""))]
    given_up_amounts: set[int] = set()
    for v in given_up:
        try:
            given_up_amounts.add(int(float(norm(v).rstrip("元"))))
        except ValueError:
            pass
    waivers = [bool(WAIVER_TERM.search(t)) for t, _, _ in drafted]
    if exp["outcome"] in FAILED and drafted:
        c.failed_agreements += 1
        c.wrong += 1
        c.wrongs.append(f"{iid} agreement: {len(drafted)} terms drafted for a hearing that ended {exp['outcome']}")
    expected_amounts: set[int] = set()
    expected_dates: set[str] = set()
    for term in exp.get("terms") or []:
        want = [norm(s) for s in term.get("must_contain") or []]
        amounts = {int(term["amount"])} if term.get("amount") is not None else set()
        dates = {term["deadline"]} if term.get("deadline") else set()
        for inst in term.get("schedule") or []:
            amounts.add(int(inst["amount"]))
            dates.add(inst["date"])
        expected_amounts |= amounts
        expected_dates |= dates
        ok = any(all(w in t for w in want) and amounts <= a and dates <= d
                 for t, a, d in drafted)
        c.fact(iid, "terms", ok, f"{term.get('obligor')} {term.get('action')} {term.get('object', '')} "
               f"{term.get('amount')} {term.get('deadline')}")
    sums = set()
    for term in exp.get("terms") or []:
        sched = term.get("schedule") or []
        if sched:
            sums.add(int(sum(i["amount"] for i in sched)))
    allowed_amounts = expected_amounts | sums
    for (t, a, d), waiver in zip(drafted, waivers):
        for x in sorted(a - allowed_amounts - (given_up_amounts if waiver else set())):
            c.invented(iid, "terms", f"amount {x} in a drafted term belongs to no agreed term")
        for day in sorted(d - expected_dates):
            if day != (exp.get("performance_deadline") or ""):
                c.invented(iid, "terms", f"date {day} in a drafted term belongs to no agreed term")
    if not exp.get("terms"):
        for t, _, _ in drafted:
            c.invented(iid, "terms", "a term drafted where none was agreed", wrong=False)
    elif drafted:
        matched = sum(1 for t, _, _ in drafted if any(
            all(norm(s) in t for s in (term.get("must_contain") or [])) for term in exp["terms"]))
        for _ in range(len(drafted) - matched):
            c.per_field["terms"][1] += 1
    if not agreement.get("refused"):
        for key, name in (("performance_deadline", "performance_deadline"), ("performance_place", "performance_place")):
            want_one, got = exp.get(key), av.get(key)
            if want_one:
                c.fact(iid, name, got is not None and (norm(want_one) in norm(got) or norm(got) == norm(want_one)),
                       f"{got} for {want_one}")
            elif got and exp["outcome"] not in FAILED:
                c.invented(iid, name, f"{got} drafted where none was said", wrong=False)
        manner = norm(" ".join(_texts(av.get("performance_manner"))) + "".join(drafted_terms))
        for m in exp.get("performance_manner") or []:
            c.fact(iid, "performance_manner", norm(m) in manner, m)
    else:
        for key in ("performance_deadline", "performance_place"):
            if exp.get(key):
                c.fact(iid, key, False, "agreement refused")
        for m in exp.get("performance_manner") or []:
            c.fact(iid, "performance_manner", False, "agreement refused")
    category = av.get("dispute_category") or (record.get("values") or {}).get("dispute_category")
    if exp.get("dispute_category"):
        c.fact(iid, "dispute_category", category == exp["dispute_category"], f"{category} for {exp['dispute_category']}")
    elif category:
        c.invented(iid, "dispute_category", f"{category} where the hearing does not settle it", wrong=False)
    facts = norm(av.get("facts") or "")
    # counted whatever the drafter decides (a refusal must not shrink the facts it is scored on);
    # a hearing that reached no agreement has no agreement whose facts could be summarised
    if exp.get("facts_keywords") and exp["outcome"] not in FAILED:
        c.fact(iid, "facts", not agreement.get("refused") and all(norm(k) in facts for k in exp["facts_keywords"]),
               "keywords" if not agreement.get("refused") else "agreement refused")
    if exp["outcome"] in FAILED or exp["outcome"] == "部分达成":
        if exp.get("informed_of_litigation"):
            result = norm(" ".join(_texts((record.get("values") or {}).get("result"))))
            c.fact(iid, "result_remedies", any(w in result for w in ("诉讼", "法院", "仲裁", "起诉")), "court/arbitration")
    # traps: nothing from must_not_appear among agreed values
    agreed_text = "".join(t for t, _, _ in drafted) + norm(av.get("performance_place") or "")
    agreed_amounts = set().union(*[a for _, a, _ in drafted]) if drafted else set()
    kept = [x for x, waiver in zip(drafted, waivers) if not waiver]
    unwaived_text = "".join(t for t, _, _ in kept) + norm(av.get("performance_place") or "")
    unwaived_amounts = set().union(*[a for _, a, _ in kept]) if kept else set()
    agreed_dates = set().union(*[d for _, _, d in drafted]) if drafted else set()
    if not agreement.get("refused") and av.get("performance_deadline"):
        agreed_dates.add(str(av["performance_deadline"]))
    for trap in exp.get("must_not_appear") or []:
        kind, value = trap.get("kind", "text"), str(trap["value"])
        waived = bool(WAIVED_WHY.search(trap.get("why", "")))
        amounts_seen = unwaived_amounts if waived else agreed_amounts
        text_seen = unwaived_text if waived else agreed_text
        if kind == "amount":
            try:
                hit = int(float(norm(value).rstrip("元"))) in amounts_seen
            except ValueError:
                hit = norm(value) in text_seen
        elif kind == "date":
            hit = value in agreed_dates
        else:
            hit = bool(norm(value)) and norm(value) in text_seen
        if hit:
            c.invented(iid, "traps", f"{value} ({trap.get('why', '')}) appears as agreed")


def _statute(citation: str) -> str:
    """A citation compared by the law it names: 《中华人民共和国民法典》 and 《民法典》 are one statute (the
    writers of the set used both forms, as the laws' own short titles allow)."""
    return norm(citation).replace("中华人民共和国", "")


def _score_consultation(iid: str, exp: dict[str, Any], session: dt.date, draft: dict[str, Any], c: Counts) -> None:
    v = draft.get("values") or {}
    question, answer = norm(v.get("question") or ""), norm(v.get("answer") or "")
    for f in exp.get("question_facts") or []:
        c.fact(iid, "question", norm(f) in question, f)
    for k in exp.get("advice_keywords") or []:
        c.fact(iid, "answer", norm(k) in answer, k)
    bases = {_statute(b) for b in _texts(v.get("legal_bases"))}
    for b in exp.get("legal_bases") or []:
        c.fact(iid, "legal_bases", _statute(b) in bases, b)
    wanted = {_statute(b) for b in exp.get("legal_bases") or []}
    for b in bases - wanted:
        c.per_field["legal_bases"][1] += 1
    outcomes = {OUTCOME_ALIASES.get(o, o) for o in _texts(v.get("outcome"))}
    want_out = {OUTCOME_ALIASES.get(o, o) for o in exp.get("handling_outcome") or []}
    for o in want_out:
        c.fact(iid, "outcome", o in outcomes, o)
    for o in {OUTCOME_ALIASES.get(x, x) for x in exp.get("not_outcomes") or []}:
        if o in outcomes:
            c.invented(iid, "outcome", f"{o} drafted as done (mentioned or declined)")
    for o in outcomes - want_out - {"已解答"}:
        if o not in {OUTCOME_ALIASES.get(x, x) for x in exp.get("not_outcomes") or []}:
            c.per_field["outcome"][1] += 1
    follow = v.get("follow_up")
    want_follow = exp.get("follow_up")
    if want_follow:
        when = str(want_follow.get("when") or "")
        ok = bool(follow)
        if ok and re.fullmatch(r"\d{4}-\d{2}-\d{2}", when):
            ok = when in dates_in(str(follow), session) or when in str(follow)
        c.fact(iid, "follow_up", ok, f"{follow} for {when}")
    elif follow:
        c.invented(iid, "follow_up", f"{follow} where no follow-up was promised", wrong=False)
    category = v.get("category")
    if exp.get("dispute_category"):
        c.fact(iid, "dispute_category", category == exp["dispute_category"], f"{category} for {exp['dispute_category']}")
    elif category:
        c.invented(iid, "dispute_category", f"{category} where the visit does not settle it", wrong=False)
    for trap in exp.get("must_not_appear") or []:
        value = norm(trap["value"])
        if value and any(value == norm(o) for o in outcomes):
            c.invented(iid, "traps", f"{trap['value']} ({trap.get('why', '')}) drafted as an outcome")
