"""Rules of issue 12 decided on the blind development set (docs/documents.md "Rule changes on the
development set"), each tested here on small dialogues written for these tests, not copied from the
blind items: the category by who the sides are, a delivery (送…过去) as an obligation, and an assent
that follows an echo of the proposal."""

from __future__ import annotations

from scribe.casefile import CaseFile
from scribe.extract import rule_draft
from scribe.extract.category import guess_category
from tests.blind import to_transcript

STAFF = [{"id": "m1", "role": "调解员", "name": "罗文"}, {"id": "r1", "role": "记录人", "name": "江雪"}]


def _case(parties: list[dict], speakers: dict[str, str] | None = None) -> CaseFile:
    return CaseFile.from_dict({
        "session_type": "mediation", "date": "2026-10-12", "place": "白鹭镇司法所",
        "organisation": "白鹭镇人民调解委员会", "case_number": "（2026）白人调字第5号",
        "staff": STAFF, "parties": parties,
        "speakers": speakers or {"A": "m1", "B": parties[0]["id"], "C": parties[1]["id"]}})


def _tr(lines: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    return to_transcript([{"speaker": s, "text": t} for s, t in lines])


def test_generic_words_are_no_evidence_of_a_labour_dispute() -> None:
    # a shop's 老板, a 公司 and going to 上班 are in every story; the matter here is the noise
    text = "楼上那家老板天天半夜搬东西，噪音太大，我第二天还要上班，他们公司的人也来过"
    assert guess_category(text).category == "邻里"


def test_a_medical_dispute_needs_a_medical_provider_among_the_sides() -> None:
    story = "我在他店门口滑倒受伤了，送到医院做了手术，医药费花了八千，医院说要休养三个月"
    shop = ["王秀兰", "白鹭镇万家福超市有限公司"]
    clinic = ["王秀兰", "白鹭镇康宁诊所"]
    # a fall at a shop: the hospital is the injury's story, the dispute is about damages
    assert guess_category(story, shop).category == "损害赔偿"
    assert guess_category(story, clinic).category == "医疗"
    # unknown sides (a consultation): the words alone decide, as before
    assert guess_category(story).category == "医疗"


def test_a_property_company_that_is_only_a_third_party_does_not_make_it_a_property_dispute() -> None:
    parties = [{"id": "p1", "role": "申请人", "name": "韩立"}, {"id": "p2", "role": "被申请人", "name": "温涛"},
               {"id": "p3", "role": "第三人", "name": "白鹭花园物业管理有限公司"}]
    case = _case(parties)
    tr = _tr([
        ("B", "他家装修把楼道堵了，物业也管不了，物业说让我们自己协商。"),
        ("C", "物业同意过的，我跟物业打过招呼。"),
        ("A", "物业这边的意见我们听了，你们是邻居，楼道是大家的。"),
    ])
    f = rule_draft(tr, case, kind="hearing-record").fields
    assert f["dispute_category"].value != "物业"
    # the same words, with the property company as the respondent, are a 物业 dispute
    parties2 = [parties[0], {"id": "p3", "role": "被申请人", "name": "白鹭花园物业管理有限公司"}]
    f2 = rule_draft(tr, _case(parties2, {"A": "m1", "B": "p1", "C": "p3"}), kind="hearing-record").fields
    assert f2["dispute_category"].value == "物业"


PARTIES = [{"id": "p1", "role": "申请人", "name": "李强"}, {"id": "p2", "role": "被申请人", "name": "张明"}]


def _walnuts(reply: str):  # type: ignore[no-untyped-def]
    return _tr([
        ("B", "他家核桃树一半伸到我院子里，核桃掉我院里他还来捡。"),
        ("C", "树是我家的，核桃当然是我的。"),
        ("A", "我看这样，以后每年收了核桃你们两家一人一半，老张打下来以后给老李家送一半过去，你们看呢"),
        ("C", reply),
        ("B", "行。"),
        ("A", "好，一会儿打出来签字。"),
    ])


def test_a_delivery_assented_after_an_echo_is_a_term() -> None:
    draft = rule_draft(_walnuts("一人一半啊，唉，行吧"), _case(PARTIES), kind="mediation-agreement")
    terms = draft.values()["terms"] or []
    assert any("核桃" in t and "送一半" in t and t.startswith("张明") for t in terms), terms


def _record_terms(reply: str) -> list[str]:
    result = rule_draft(_walnuts(reply), _case(PARTIES), kind="hearing-record").values()["result"] or {}
    return list(result.get("terms") or [])


def test_an_echo_then_a_refusal_is_no_assent() -> None:
    assert any("核桃" in t for t in _record_terms("一人一半啊，唉，行吧"))
    assert not any("核桃" in t for t in _record_terms("一人一半啊，不行，我家的树"))
    assert not any("核桃" in t for t in _record_terms("一人一半啊，凭什么，行吧"))


def _visits(reply: str):  # type: ignore[no-untyped-def]
    parties = [{"id": "p1", "role": "申请人", "name": "方明"}, {"id": "p2", "role": "被申请人", "name": "苏晴"}]
    tr = _tr([
        ("A", "今天是孩子探视的事情，方明你先说。"),
        ("B", "我想每个星期都接孩子过去住两天。"),
        ("C", "每个星期不行，她周末要上英语课。"),
        ("A", "那我说一下，每个月第一个和第三个周末，周六上午十点在苏晴家楼下接走，周日下午六点送回楼下，从哪个周末开始？"),
        ("C", reply),
        ("B", "可以。"),
        ("A", "寒假让爸爸带七天，春节初一初二跟妈妈。"),
        ("C", "嗯，行。"),
        ("A", "好，打出来签字。"),
    ])
    return tr, _case(parties)


def test_a_visiting_schedule_is_a_term_of_both_parents_without_a_deadline() -> None:
    tr, case = _visits("第一个和第三个周末，嗯，行")
    v = rule_draft(tr, case, kind="mediation-agreement").values()
    terms = v["terms"] or []
    pick_up = [t for t in terms if "楼下接走" in t]
    assert pick_up and pick_up[0].startswith("方明、苏晴") and "探视" in pick_up[0], terms
    assert "送回楼下" in pick_up[0] and "哪个" not in pick_up[0], terms
    assert any("寒假" in t and "春节" in t for t in terms), terms
    # the rejected proposal (every week) is no term, and a schedule is no deadline
    assert not any("每个星期" in t for t in terms), terms
    assert not v.get("deadlines")


def test_a_visiting_schedule_turned_down_is_no_term() -> None:
    tr, case = _visits("不行，周六上午她要上课")
    terms = rule_draft(tr, case, kind="hearing-record").values()["result"]["terms"]
    assert not any("楼下接走" in t for t in terms), terms


def test_a_child_with_a_parent_in_a_hearing_about_something_else_is_no_visiting_term() -> None:
    parties = [{"id": "p1", "role": "申请人", "name": "方明"}, {"id": "p2", "role": "被申请人", "name": "苏晴"}]
    tr = _tr([
        ("A", "今天说抚养费的事情，孩子每个周末跟妈妈住，这个大家都清楚。"),
        ("B", "对。"),
        ("A", "方明每月十号前给苏晴抚养费一千五百元。"),
        ("B", "行。"),
        ("C", "可以。"),
    ])
    terms = rule_draft(tr, _case(parties), kind="mediation-agreement").values()["terms"] or []
    assert any("一千五百" in t for t in terms), terms
    assert not any("跟妈妈" in t for t in terms), terms


def _paid(words: str):  # type: ignore[no-untyped-def]
    return _tr([
        ("B", "他的羊把我菜园子里的白菜啃了一大片，我要八百。"),
        ("C", "八百太多了。"),
        ("A", "张明赔李强四百，就现在给，你们看行不行？"),
        ("C", "行，现在给。"),
        ("B", "四百就四百。"),
        ("C", words),
        ("B", "收到了。"),
    ])


def test_the_obligors_own_words_after_agreeing_say_how_it_is_paid() -> None:
    v = rule_draft(_paid("你加我微信，我转给你"), _case(PARTIES), kind="mediation-agreement").values()
    assert v["performance_manner"] == "微信转账"
    v = rule_draft(_paid("我不用支付宝转，你等我一下"), _case(PARTIES), kind="mediation-agreement").values()
    assert v["performance_manner"] is None


def test_the_facts_carry_what_the_applicant_asks_for_even_when_said_late_in_the_story() -> None:
    tr = _tr([
        ("A", "李强，你先说说情况。"),
        ("B", "我家院墙是去年砌的，今年三月他家挖地基，把我院墙挖裂了，裂了两米多长一道缝，下雨天往里渗水，"
              "我找他说了好几次，他都说不是他挖的，后来我请人看了，师傅说就是挖地基震的，墙根都松了。"),
        ("B", "墙现在歪着，我孙子天天在院子里玩，我怕哪天倒了砸着人，晚上都睡不踏实。"),
        ("B", "我要求他把墙重新砌好，另外赔我请人看墙的三百块。"),
        ("C", "我挖地基是挖了，墙是不是我挖裂的还不一定。"),
    ])
    facts = rule_draft(tr, _case(PARTIES), kind="mediation-agreement").values()["facts"]
    assert "我要求他把墙重新砌好" in facts, facts
