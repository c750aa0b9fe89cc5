"""Rules of issue 12 decided on the blind development set in session 9 (docs/documents.md "Rule
changes on the development set (session 9)"), each tested on small dialogues written for these
tests, not copied from the blind items: the rest paid on the last date of a schedule, a sum said
before 给你, a demand the mediator restates for the claimant, and a route the visitor asks about
and then declines."""

from __future__ import annotations

from typing import Any

from scribe.casefile import CaseFile
from scribe.errors import DocumentError
from scribe.extract import rule_draft
from tests.blind import to_transcript

STAFF = [{"id": "m1", "role": "调解员", "name": "孔倩"}, {"id": "r1", "role": "记录人", "name": "伍涛"}]
PARTIES = [{"id": "p1", "role": "申请人", "name": "邵立新"}, {"id": "p2", "role": "被申请人", "name": "甘卫东"}]
SESSION = "2026-11-03"


def _case() -> CaseFile:
    return CaseFile.from_dict({
        "session_type": "mediation", "date": SESSION, "place": "青石镇司法所",
        "organisation": "青石镇人民调解委员会", "case_number": "（2026）青人调字第31号",
        "staff": STAFF, "parties": PARTIES, "speakers": {"A": "m1", "B": "p1", "C": "p2"}})


def _tr(lines: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    return to_transcript([{"speaker": s, "text": t} for s, t in lines])


def _terms(lines: list[tuple[str, str]]) -> list[str]:
    try:
        values: dict[str, Any] = rule_draft(_tr(lines), _case(), kind="mediation-agreement").values()
    except DocumentError:
        return []  # refused: no agreement, so no terms
    return list(values["terms"] or [])


def test_the_rest_said_on_the_last_date_of_a_schedule_is_its_last_instalment() -> None:
    terms = _terms([
        ("B", "他欠我货款九千六，拖了一年了。"),
        ("A", "甘卫东，九千六分三回给，这个月二十号三千，下个月二十号三千，一月三十号把剩下的三千六结清，行吗？"),
        ("C", "行，我认。"),
        ("B", "可以。"),
    ])
    plan = [t for t in terms if "分期" in t]
    assert plan, terms
    assert "2027年01月30日前3600元" in plan[0] and "合计：9600元" in plan[0], plan
    # "剩下的" before a later date still belongs to that later date
    terms = _terms([
        ("A", "甘卫东，这个月二十号先给三千，剩下的六千六百元一月三十号前给清，行吗？"),
        ("C", "行。"),
    ])
    plan = [t for t in terms if "分期" in t]
    assert plan and "2026年11月20日前3000元" in plan[0] and "2027年01月30日前6600元" in plan[0], terms


def test_a_sum_said_before_给你_is_the_payment() -> None:
    terms = _terms([
        ("B", "他家装修把我楼道的灯砸了，换一个要三百。"),
        ("C", "三百我今天就给你。"),
        ("B", "行。"),
    ])
    assert any("300元" in t for t in terms), terms
    # 给你 that opens another verb pays nothing
    assert not any("300元" in t for t in _terms([
        ("B", "他家装修把我楼道的灯砸了，换一个要三百。"),
        ("C", "三百的事我明天给你打电话说。"),
    ]))


def test_a_demand_the_mediator_restates_binds_nobody_on_the_claimants_yes() -> None:
    lines = [
        ("A", "邵立新，你登记的时候说了，围墙要他赔五千。"),
        ("B", "对，就是五千。"),
        ("C", "五千？一堵矮墙五千？"),
    ]
    assert not any("5000元" in t for t in _terms(lines)), _terms(lines)
    # the one asked to pay accepting it makes it a term, owed by them
    accepted = lines[:2] + [("C", "行，五千我认了，月底前给他。")]
    terms = _terms(accepted)
    assert any("5000元" in t and t.startswith("甘卫东") for t in terms), terms


def _consultation(lines: list[tuple[str, str]]) -> list[str]:
    case = CaseFile.from_dict({
        "session_type": "consultation", "date": SESSION, "place": "青石镇公共法律服务站",
        "organisation": "青石镇公共法律服务站", "case_number": "QS-2026-40", "consultation_channel": "现场来访",
        "staff": [{"id": "s1", "role": "接待人", "name": "孔倩"}],
        "parties": [{"id": "v1", "role": "咨询人", "name": "邵立新"}], "speakers": {"A": "s1", "B": "v1"}})
    return list(rule_draft(_tr(lines), case, kind="consultation-record").values()["outcome"] or [])


def test_a_route_the_visitor_asks_about_and_then_declines_is_no_outcome() -> None:
    story = [("B", "装修公司收了我三万块钱，干了一半人跑了，我想问问这钱怎么要回来？"),
             ("A", "依照《民法典》第五百七十七条，他违约了。你可以找消协，可以申请人民调解，也可以到法院起诉。"),
             ("A", "我们镇上有调解委员会，不收费。")]
    declined = _consultation(story + [("B", "起诉的话呢"), ("A", "起诉要交诉讼费，时间也长一点。"),
                                      ("B", "起诉就算了，太折腾，我先找消协吧。")])
    assert "引导诉讼" not in declined, declined
    # asked about, then taken up after the answer
    taken = _consultation(story + [("B", "起诉的话呢"), ("A", "起诉要交诉讼费，时间也长一点。"),
                                   ("B", "好，那我去法院起诉。")])
    assert "引导诉讼" in taken, taken


def test_what_is_not_included_is_no_retraction() -> None:
    """"那个不算在里面吧" asks what a sum covers; 不算 there retracts nothing (before, it read as
    "不算数" and undid the mediator's summary it answered)."""
    lines = [
        ("A", "那协议就这么写，甘卫东赔邵立新修车费两千，十一月三十号前微信转账。"),
        ("B", "以后要是车门再坏了呢，那个不算在里面吧？"),
        ("A", "这次的修好就算在里面，以后再坏是另外一回事。"),
        ("B", "那行。"),
    ]
    assert any("2000元" in t for t in _terms(lines)), _terms(lines)
    # a real retraction still undoes it
    assert not any("2000元" in t for t in _terms(lines[:1] + [("C", "不行，我说的不算数，两千太多了。")]))


def test_a_referral_to_another_department_taken_up_is_an_outcome_and_a_later_no_undoes_it() -> None:
    story = [("B", "网上买的电饭煲用了两天就坏了，商家不给退，说是我自己摔的，我想问问怎么办？"),
             ("A", "依照《消费者权益保护法》第二十四条，七日内可以退货。你可以打12315，向市场监管部门投诉。")]
    taken = _consultation(story + [("B", "12315，好，我记下了。那要是他们也不管呢？"),
                                   ("A", "那还可以起诉，小额诉讼很快。"),
                                   ("B", "起诉就算了，我先投诉吧。")])
    assert "转其他部门" in taken and "引导诉讼" not in taken, taken
    # the visitor's last word on the route decides: "12315先不弄了" said later is no referral
    later_no = _consultation(story + [("B", "12315，好，我记下了。"),
                                      ("A", "发票和聊天记录都留好，投诉的时候要用。"),
                                      ("B", "想了想，12315先不弄了，我再跟商家磨一磨。")])
    assert "转其他部门" not in later_no, later_no
