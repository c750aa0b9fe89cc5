"""Rules of issue 12 decided on the blind development set in session 8 (docs/documents.md "Rule
changes on the development set (session 8)"), each tested on small dialogues written for these
tests, not copied from the blind items: a monthly repayment plan, a withdrawn demand that ends
nothing, times counted from an event, a waived act, a sentence's subject carried past a clause
that is no term, a condition's scope, shares of a cost, a voided arrangement, sums a month per
person, who-questions, the hearing's own 我们, 的话 as a noun, 今天 before the act and acts done
on the spot."""

from __future__ import annotations

from typing import Any

import datetime as dt
from decimal import Decimal

from scribe.casefile import CaseFile
from scribe.errors import DocumentError
from scribe.extract import rule_draft
from scribe.extract.instalments import monthly_plan
from scribe.extract.quantities import find_bare_amounts
from tests.blind import to_transcript

STAFF = [{"id": "m1", "role": "调解员", "name": "罗文"}, {"id": "r1", "role": "记录人", "name": "江雪"}]
PARTIES = [{"id": "p1", "role": "申请人", "name": "李强"}, {"id": "p2", "role": "被申请人", "name": "张明"}]
SESSION = "2026-10-12"


def _case(parties: list[dict[str, str]] = PARTIES, speakers: dict[str, str] | None = None) -> CaseFile:
    return CaseFile.from_dict({
        "session_type": "mediation", "date": SESSION, "place": "白鹭镇司法所",
        "organisation": "白鹭镇人民调解委员会", "case_number": "（2026）白人调字第9号",
        "staff": STAFF, "parties": parties,
        "speakers": speakers or {"A": "m1", "B": parties[0]["id"], "C": parties[1]["id"]}})


def _tr(lines: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    return to_transcript([{"speaker": s, "text": t} for s, t in lines])


def _agreement(lines: list[tuple[str, str]], case: CaseFile | None = None) -> dict[str, Any]:
    return rule_draft(_tr(lines), case or _case(), kind="mediation-agreement").values()


def _outcome(lines: list[tuple[str, str]], case: CaseFile | None = None) -> str | None:
    result = rule_draft(_tr(lines), case or _case(), kind="hearing-record").values()["result"]
    return result["outcome"] if result else None


# -- a monthly plan --------------------------------------------------------------------------
def test_a_monthly_repayment_with_its_start_and_end_is_a_schedule() -> None:
    v = _agreement([
        ("B", "他借我三万六，一直没还。"),
        ("A", "张明你听好，从明年三月开始，每月二十号前还三千，一共十二期三万六。"),
        ("C", "对，是这样。"),
        ("B", "行。"),
    ])
    terms = v["terms"] or []
    plan = [t for t in terms if "分期" in t]
    assert plan and plan[0].count("3000元") == 12, terms
    assert "2027年03月20日前3000元" in plan[0] and "2028年02月20日前3000元" in plan[0], plan
    assert v["performance_deadline"] == "2028-02-20"


def test_a_monthly_plan_reads_its_start_end_and_count_and_refuses_inconsistent_numbers() -> None:
    day = dt.date(2026, 10, 12)
    got = monthly_plan("从2026年11月开始，每个月五号前还两千，到2027年2月5号还完", day)
    assert got == [(dt.date(2026, 11, 5), Decimal(2000)), (dt.date(2026, 12, 5), Decimal(2000)),
                   (dt.date(2027, 1, 5), Decimal(2000)), (dt.date(2027, 2, 5), Decimal(2000))]
    # open-ended (maintenance every month): no end, so no schedule
    assert monthly_plan("从下个月开始，每个月十号之前给一千五", day) == []
    # four instalments of 2000 do not make the total said
    assert monthly_plan("从11月开始，每月五号还两千，一共四期，共计一万", day) == []


def test_repaying_with_a_sum_is_a_payment() -> None:
    v = _agreement([
        ("A", "张明月底前还三千，行不行？"),
        ("C", "行。"),
        ("B", "可以。"),
    ])
    assert any("3000元" in t and t.startswith("张明") for t in v["terms"] or []), v["terms"]


# -- what ends a mediation -------------------------------------------------------------------
def test_a_demand_withdrawn_is_no_withdrawal_of_the_mediation() -> None:
    lines = [
        ("B", "他把我的车门刮了，要赔我修车钱八百，还要他登门赔礼道歉。"),
        ("C", "八百我认。"),
        ("A", "张明十月二十号前赔李强修车费八百元。登门道歉那一条，李强自己撤回了，两位有没有意见？"),
        ("B", "没意见。"),
        ("C", "没有。"),
    ]
    assert _outcome(lines) == "达成协议"
    assert any("八百" in t for t in _agreement(lines)["terms"] or [])
    # the application withdrawn does end it
    ended = lines[:2] + [("A", "李强撤回调解申请，本次调解终止。"), ("B", "对，我撤回申请。")]
    assert _outcome(ended) == "调解终止"
    from scribe.extract.outcome import END_RE

    assert END_RE.search("那我撤回") and not END_RE.search("群里那几条也撤回了")


def test_a_failure_said_as_the_consequence_of_a_condition_is_no_failure() -> None:
    lines = [
        ("B", "我要他赔两千，以前的误工也要补。"),
        ("C", "两千我给不了，误工更别说了。"),
        ("A", "李强你看，误工这块你要是坚持，今天可能就谈不拢。"),
        ("B", "那行吧，误工我不要了。"),
        ("A", "张明十月三十号前赔李强一千五百元，行不行？"),
        ("C", "行。"),
        ("B", "可以。"),
    ]
    assert _outcome(lines) == "达成协议"


# -- times counted from an event ---------------------------------------------------------------
def test_a_time_counted_from_an_event_is_no_calendar_deadline() -> None:
    v = _agreement([
        ("A", "张明十月二十号前把李强家的水管修好。"),
        ("C", "行。"),
        ("A", "李强呢，修好以后怎么付？"),
        ("B", "试水不漏，我三天之内把六百转给他。"),
        ("C", "可以。"),
        ("A", "我归纳一下：第一，张明十月二十号前把水管修好；第二，试水合格后三日内，李强付给张明六百元。"),
        ("B", "没问题。"),
        ("C", "可以。"),
    ])
    terms = v["terms"] or []
    pay = [t for t in terms if "600元" in t]
    assert pay and "期限" not in pay[0], terms  # not 2026-10-15 counted from the session
    assert v["performance_deadline"] == "2026-10-20"


def test_on_the_spot_after_an_inspection_is_no_date_but_today_said_plainly_is() -> None:
    later = _agreement([
        ("A", "墙砌好了，验收以后，李强当场现金给张明五百，行不行？"),
        ("B", "行。"),
        ("C", "行。"),
    ])
    assert later["terms"] and later["performance_deadline"] is None, later["terms"]
    today = _agreement([
        ("A", "张明今天用微信给李强转五百，行不行？"),
        ("C", "行。"),
        ("B", "可以。"),
    ])
    assert today["performance_deadline"] == SESSION
    # 从今天起 starts something; it is no deadline
    start = _agreement([
        ("A", "老人从今天起跟张明住，张明负责照顾老人。"),
        ("C", "行。"),
        ("B", "同意。"),
    ])
    assert start["terms"] and start["performance_deadline"] is None, start


# -- a waived act ------------------------------------------------------------------------------
def test_an_act_the_claimant_no_longer_wants_is_no_term() -> None:
    v = _agreement([
        ("B", "他骂我，他要在村里当着大家的面给我道歉。"),
        ("A", "张明，当着大家道歉，你看呢？"),
        ("C", "我道歉？那他骂我的呢？"),
        ("B", "那道歉就算了，不要他道歉了，钱赔了就行。"),
        ("A", "好，张明十月底前赔李强三百元。"),
        ("C", "行。"),
        ("B", "可以。"),
    ])
    terms = v["terms"] or []
    assert any("300元" in t for t in terms), terms
    assert not any("道歉" in t and not ("不要" in t or "算了" in t) for t in terms), terms


# -- the subject and words of a sentence -------------------------------------------------------
def test_the_subject_goes_on_past_a_clause_that_opens_no_term() -> None:
    v = _agreement([
        ("A", "张明把堵路的那道院墙，从墙根往院子里退一米，重新砌，在十二月一号之前弄好。"),
        ("C", "行。"),
        ("B", "可以。"),
    ])
    wall = [t for t in v["terms"] or [] if "重新砌" in t]
    assert wall and wall[0].startswith("张明") and "退一米" in wall[0], v["terms"]


def test_the_mediators_we_about_the_hearing_adds_nothing_to_the_term_before() -> None:
    v = _agreement([
        ("A", "房子的事就不要再提了，我们今天就说赔偿。"),
        ("B", "行。"),
        ("A", "张明十月底前赔李强两千元。"),
        ("C", "可以。"),
        ("B", "行。"),
    ])
    assert not any("2026年10月12日" in t for t in v["terms"] or []), v["terms"]
    assert v["performance_deadline"] == "2026-10-31"


def test_who_owes_it_asked_binds_nobody() -> None:
    v = _agreement([
        ("A", "那老人以后还有谁来照顾？"),
        ("B", "行。"),
        ("A", "张明十月底前赔李强两千元。"),
        ("C", "可以。"),
    ])
    assert not any("照顾" in t for t in v["terms"] or []), v["terms"]


# -- kinds of payment --------------------------------------------------------------------------
def test_a_share_of_a_cost_is_a_payment_without_a_sum() -> None:
    v = _agreement([
        ("A", "孩子的学费凭收据一人一半，张明收到收据以后七天内把一半转给李强，行不行？"),
        ("C", "行。"),
        ("B", "可以。"),
    ])
    share = [t for t in v["terms"] or [] if "一半转给李强" in t]
    assert share and share[0].startswith("张明"), v["terms"]
    assert "期限" not in share[0]  # seven days from the receipt, not from the session
    # no sum and no name: who pays the half is a guess, so it is left to the reviewer
    v = _agreement([
        ("A", "孩子的学费凭收据，他收到以后七天内把一半转给你，行不行？"),
        ("C", "行。"),
        ("B", "可以。"),
    ])
    assert not any("一半" in t for t in v["terms"] or []), v["terms"]


def test_an_arrangement_voided_is_no_term_and_its_sum_is_not_agreed() -> None:
    v = _agreement([
        ("A", "从下个月起，张明每个月五号前给李强一千二，原来说的每月八百不再执行。"),
        ("C", "行。"),
        ("B", "同意。"),
    ])
    terms = v["terms"] or []
    assert any("一千二" in t for t in terms), terms
    assert not any("八百" in t for t in terms), terms


def test_a_sum_a_month_said_of_each_person_is_their_payment() -> None:
    parties = PARTIES + [{"id": "p3", "role": "被申请人", "name": "张亮"}]
    case = _case(parties, {"A": "m1", "B": "p1", "C": "p2", "D": "p3"})
    v = _agreement([
        ("A", "赡养费，张明每个月一千，张亮每个月六百，每个月十号之前打到老人卡上。"),
        ("C", "同意。"),
        ("D", "同意。"),
        ("B", "行。"),
    ], case)
    terms = v["terms"] or []
    assert any(t.startswith("张明") and "1000元" in t for t in terms), terms
    assert any(t.startswith("张亮") and "600元" in t for t in terms), terms
    assert not any("照料" in t or "照顾" in t for t in terms), terms  # 赡养费 is a cost, no care
    assert find_bare_amounts("每个月一千五")[0].yuan == 1500
    assert find_bare_amounts("3月10号")  == []


def test_words_in_a_group_chat_are_no_condition() -> None:
    v = _agreement([
        ("A", "网上发的视频、群里的话，双方都删掉，以后都不在网上发对方的事。"),
        ("B", "行。"),
        ("C", "可以。"),
    ])
    assert any("删掉" in t for t in v["terms"] or []), v["terms"]


# -- done on the spot --------------------------------------------------------------------------
def test_a_payment_made_on_the_spot_is_the_term_of_an_oral_agreement() -> None:
    lines = [
        ("B", "他家狗把我孩子咬了，打针花了六百。"),
        ("C", "我认，我现在就给。"),
        ("A", "好，张明当场付了李强打针的钱六百元，现金。我看就不用写协议书了，口头达成的，登记一下。"),
        ("B", "可以。"),
        ("C", "可以。"),
    ]
    assert _outcome(lines) == "口头协议"
    v = _agreement(lines)
    assert any("600元" in t for t in v["terms"] or []), v["terms"]
    assert v["performance_deadline"] == SESSION
    # done before the hearing, it is the story
    story = [("B", "他去年已经付了打针的钱六百元。"), ("C", "对。")]
    try:
        terms = _agreement(story)["terms"] or []
    except DocumentError:
        terms = []
    assert not any("600元" in t for t in terms)


def test_the_answer_to_how_it_is_paid_gives_the_manner_whoever_of_the_sides_says_it() -> None:
    lines = [
        ("A", "张明从明年一月开始，每月十号前还两千，一共五期一万，行不行？"),
        ("C", "对，可以。"),
        ("A", "怎么给，李强？"),
        ("B", "转到我建设银行的卡上，卡号我发给他。"),
        ("C", "行。"),
    ]
    assert _agreement(lines)["performance_manner"] == "银行转账"
    # nobody asked how: the payee's words about something else give no manner
    quiet = lines[:2] + [("B", "卡我丢了，回头再说。")]
    assert _agreement(quiet)["performance_manner"] is None


def test_telling_someone_to_stop_is_no_waiver_but_giving_up_an_act_owed_is() -> None:
    lines = [
        ("A", "张明十月底前赔李强两千元，行不行？"),
        ("C", "行。"),
        ("B", "同意，你们不要吵了就好。"),
    ]
    terms = _agreement(lines)["terms"] or []
    assert any("2000元" in t for t in terms) and not any("不要吵" in t for t in terms), terms
    given_up = lines + [("B", "还有，我不要他道歉了。")]
    assert any("不要他道歉" in t for t in _agreement(given_up)["terms"] or [])


def test_an_a_not_a_question_in_any_dialect_asks() -> None:
    from scribe.extract import acts

    assert acts.is_question("王守田退五万，你们看中不中")
    assert acts.is_question("这样要得不要得")
    assert not acts.is_question("两千八就两千八")
    v = _agreement([
        ("A", "张明赔李强五百，中不中"),
        ("A", "你们两家商量一下。"),
    ])
    assert not any("500元" in t for t in v["terms"] or []), v["terms"]


def test_as_many_people_as_one_side_has_each_owe_it() -> None:
    parties = PARTIES + [{"id": "p3", "role": "被申请人", "name": "张亮"}]
    case = _case(parties, {"A": "m1", "B": "p1", "C": "p2", "D": "p3"})
    lines = [
        ("A", "老人的药费，两个人各出一半，凭发票，大家同意吧？"),
        ("C", "同意。"),
        ("D", "同意。"),
        ("B", "行。"),
    ]
    terms = _agreement(lines, case)["terms"] or []
    assert any(t.startswith("张明、张亮") and "各出一半" in t for t in terms), terms
    # three people where no side has three: who owes it is left to the reviewer
    three = [("A", "老人的药费，三个人各出三分之一，凭发票，大家同意吧？")] + lines[1:]
    assert not any("三分之一" in t for t in _agreement(three, case)["terms"] or [])


# -- a restatement whose own words carry a date ------------------------------------------------
def test_a_restatement_timed_in_its_own_words_takes_no_date_from_the_statement_it_corrects() -> None:
    """The applicant names a day, then corrects it; the mediator's summary times the move in its
    own words (小李25号之前 ... 人搬走): the corrected day must not come back into the term."""
    v = _agreement([
        ("A", "那什么时候搬？押金什么时候退？"),
        ("B", "我10月20号搬走，那天就把钥匙交给张师傅。"),
        ("C", "押金我得等他搬了，看看电费结清了没有再退。"),
        ("B", "我不会欠的……哦，不对，20号我要上班，车我订的是周日，那就是25号。25号搬，25号交钥匙。"),
        ("A", "那就改成10月25号。小李25号之前把电费结清，人搬走，钥匙交给张师傅。"),
        ("A", "张师傅，钥匙拿到、电表看过没问题以后，三天内把一千五退给人家。"),
        ("C", "行，三天之内。"),
    ])
    terms = v["terms"] or []
    assert any("搬走" in t for t in terms), terms
    assert not any("10月20日" in t for t in terms), terms
    assert not any("10月20日" in d for d in v["deadlines"] or []), v["deadlines"]


# -- who holds a view is not who acts ---------------------------------------------------------
def test_a_demand_said_as_a_view_is_owed_by_the_other_side_and_needs_their_assent() -> None:
    """"我觉得这两千他应该补给我": the speaker holds the view, 他 would pay; the other side refuses,
    so the demand is no term (before, the speaker was read as the payer, and the other side's 行
    to a later proposal counted as consent to it)."""
    v = _agreement([
        ("B", "这些东西我都带不走，房子他还能接着租，我觉得这两千他应该补给我。"),
        ("C", "主任，我说两句。合同上写得清清楚楚，提前解约，押金不退。他要走我不拦着，但是合同就是合同。"),
        ("A", "那就按四百。押金三千扣四百的清洁费，退两千六，违约金您就不要了，行不行？"),
        ("C", "……行吧，违约金我不要了。"),
        ("B", "两千六我可以接受。"),
    ])
    terms = v["terms"] or []
    assert any("违约金" in t for t in terms), terms
    assert not any("2000元" in t or "两千他应该" in t for t in terms), terms


# -- a route named and then something else asked for -------------------------------------------
def _consultation(lines: list[tuple[str, str]]) -> list[str]:
    case = CaseFile.from_dict({
        "session_type": "consultation", "date": SESSION, "place": "白鹭镇公共法律服务站",
        "organisation": "白鹭镇公共法律服务站", "case_number": "BL-2026-17", "consultation_channel": "现场来访",
        "staff": [{"id": "s1", "role": "接待人", "name": "罗文"}],
        "parties": [{"id": "v1", "role": "咨询人", "name": "李强"}], "speakers": {"A": "s1", "B": "v1"}})
    return list(rule_draft(_tr(lines), case, kind="consultation-record").values()["outcome"] or [])


def test_a_route_the_visitor_names_and_then_asks_for_something_else_is_no_outcome() -> None:
    story = [("B", "邻居把我家承包的两亩地占了种菜，说是他的，我想问问怎么办？"),
             ("A", "根据《农村土地承包法》第五十五条，可以先找村委会调解，调解不成可以申请仲裁，也可以到法院起诉。")]
    declined = _consultation(story + [("B", "仲裁 起诉 那个太费事了 我年纪大了 能不能先请村里把他叫来说说")])
    assert "引导仲裁" not in declined and "引导诉讼" not in declined, declined
    # a question that names the route is about taking it
    asked = _consultation(story + [("B", "哦 要先仲裁 那仲裁收费吗"), ("A", "仲裁不收费。"), ("B", "好的，那我去申请仲裁。")])
    assert "引导仲裁" in asked, asked


def test_the_day_of_an_event_said_before_当天_is_no_calendar_date() -> None:
    """"五千到账当天" is the day the money arrives, not the day of the hearing."""
    v = _agreement([
        ("A", "那就这样，张明这个月底前把五千转给李强，李强在五千到账当天把车钥匙交给张明。"),
        ("B", "行。"),
        ("C", "可以。"),
    ])
    terms = v["terms"] or []
    key = next(t for t in terms if "钥匙" in t)
    assert "2026年10月12日" not in key, key


def test_an_assent_echoing_a_time_counted_from_an_event_gives_no_calendar_date() -> None:
    """"钥匙拿到…以后，三天内把一千五退给人家" — "行，三天之内": three days from the keys, not from
    the hearing (2026-10-15 would be a date nobody agreed to)."""
    v = _agreement([
        ("A", "张师傅，钥匙拿到、电表看过没问题以后，三天内把一千五退给人家。"),
        ("C", "行，三天之内。"),
        ("B", "好的。"),
    ])
    terms = v["terms"] or []
    refund = next(t for t in terms if "1500元" in t)
    assert "2026年10月15日" not in refund, refund
