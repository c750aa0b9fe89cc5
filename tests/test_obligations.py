"""Drafting on obligations and outcomes (issue 12), on small dialogues written for these tests
(not from the blind set): a failed hearing, a correction, a rejected offer, an unpunctuated
transcript and a consultation where the visitor asks last."""

from __future__ import annotations

import pytest

from scribe.casefile import CaseFile
from scribe.errors import NoAgreementError
from scribe.extract import rule_draft
from tests.blind import to_transcript

STAFF = [{"id": "m1", "role": "调解员", "name": "林海"}, {"id": "r1", "role": "记录人", "name": "韦丹"}]
PARTIES = [{"id": "p1", "role": "申请人", "name": "高志远", "gender": "男"},
           {"id": "p2", "role": "被申请人", "name": "董玉梅", "gender": "女"}]


def _case(session_type: str = "mediation", parties=PARTIES, staff=STAFF, **extra) -> CaseFile:  # type: ignore[no-untyped-def]
    speakers = {"A": staff[0]["id"], "B": parties[0]["id"]}
    if len(parties) > 1:
        speakers["C"] = parties[1]["id"]
    return CaseFile.from_dict({
        "session_type": session_type, "date": "2026-09-07", "place": "河口镇司法所",
        "organisation": "河口镇人民调解委员会", "case_number": "（2026）河人调字第9号",
        "staff": staff, "parties": parties, "speakers": speakers, **extra})


def _tr(lines: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    return to_transcript([{"speaker": s, "text": t} for s, t in lines])


def test_failed_hearing_refuses_the_agreement_and_records_the_result() -> None:
    tr = _tr([
        ("B", "她家的鸡天天跑到我菜地里，我要她赔六百块。"),
        ("C", "六百？我最多给一百。"),
        ("B", "一百不行。"),
        ("A", "要是双方都同意的话，董玉梅赔三百，把鸡圈起来，行不行？"),
        ("C", "我不同意，凭什么赔三百。"),
        ("A", "看来今天这个调解是调不成了，双方对赔多少分歧太大。"),
        ("A", "高志远，你可以向人民法院起诉。"),
    ])
    case = _case()
    with pytest.raises(NoAgreementError) as err:
        rule_draft(tr, case, kind="mediation-agreement")
    assert "调解不成" in str(err.value) and "调不成" in str(err.value)
    record = rule_draft(tr, case, kind="hearing-record").values()
    result = record["result"]
    assert result["outcome"] == "调解不成"
    assert "分歧" in result["reason"] and "法院" in result["remedies"]
    assert result["terms"] == []


def test_a_correction_replaces_the_corrected_amount() -> None:
    tr = _tr([
        ("A", "那就这么定了，董玉梅在9月30日前赔偿高志远菜苗损失四百元。"),
        ("B", "不对，刚才说的是五百元。"),
        ("C", "对，是五百，我说的。"),
        ("A", "好，董玉梅在9月30日前赔偿高志远菜苗损失五百元，微信转账。"),
        ("B", "行。"),
        ("C", "没问题。"),
    ])
    v = rule_draft(tr, _case(), kind="mediation-agreement")
    terms = v.values()["terms"]
    assert len(terms) == 1
    assert "五百元" in terms[0] and "四百" not in terms[0] and "董玉梅" in terms[0]
    assert "2026年09月30日前" in terms[0]
    statuses = {c.status for c in v.candidates if c.kind == "obligation" and "四百" in c.value}
    assert statuses and statuses <= {"rejected", "superseded"}


def test_a_rejected_offer_never_becomes_a_term() -> None:
    tr = _tr([
        ("C", "我给他三百块钱，这事就算了。"),
        ("B", "三百不行，太少了。"),
        ("A", "董玉梅，你看四百五怎么样？"),
        ("C", "四百五就四百五吧。"),
        ("B", "行，四百五我同意。"),
        ("A", "好，董玉梅本月底前付给高志远四百五十元。"),
        ("B", "好。"),
    ])
    v = rule_draft(tr, _case(), kind="mediation-agreement").values()
    text = "".join(v["terms"])
    assert "三百" not in text and "300" not in text
    assert any("450" in t or "四百五" in t for t in v["terms"])
    assert v["performance_deadline"] == "2026-09-30"


def test_unpunctuated_transcript_yields_clause_sized_terms() -> None:
    tr = _tr([
        ("B", "那个 就是说 她家那个狗‖把我家的羊咬死了两只"),
        ("A", "好 那我说一下‖董玉梅下个月十号之前赔高志远两只羊钱一千二‖通过微信转给他‖"
              "另外董玉梅以后把狗拴好‖不再放出来咬人"),
        ("B", "行 没意见"),
        ("C", "可以"),
    ])
    v = rule_draft(tr, _case(), kind="mediation-agreement").values()
    terms = v["terms"]
    assert len(terms) == 2, terms
    assert all(len(t) < 70 for t in terms)
    pay = next(t for t in terms if "一千二" in t)
    assert "1200元" in pay and "2026年10月10日前" in pay
    assert any("拴好" in t for t in terms)


def test_consultation_question_found_when_the_visitor_asks_last() -> None:
    staff = [{"id": "s1", "role": "接待人", "name": "覃明"}]
    parties = [{"id": "v1", "role": "咨询人", "name": "甘秀兰", "gender": "女"}]
    tr = _tr([
        ("A", "您好，请说。"),
        ("B", "我在一家饭店做服务员，干了十一个月，老板一直没签劳动合同。"),
        ("B", "上个月他突然叫我别来了，还扣了我两千块工资。"),
        ("B", "我就想问，这种情况我能要回工资和赔偿吗？"),
        ("A", "根据《劳动合同法》第八十二条，超过一个月不满一年未签书面劳动合同的，可以要求双倍工资。"),
        ("A", "您可以向劳动人事争议仲裁委员会申请劳动仲裁。"),
        ("B", "好的，那我去申请仲裁。"),
    ])
    case = CaseFile.from_dict({
        "session_type": "consultation", "date": "2026-09-07", "place": "河口镇公共法律服务站",
        "organisation": "河口镇公共法律服务站", "case_number": "HK-2026-031", "consultation_channel": "现场来访",
        "staff": staff, "parties": parties, "speakers": {"A": "s1", "B": "v1"}})
    v = rule_draft(tr, case, kind="consultation-record").values()
    assert "能要回工资和赔偿吗" in v["question"]
    assert "十一个月" in v["question"] and "两千块" in v["question"]
    assert v["legal_bases"] == ["《劳动合同法》第八十二条"]
    assert "引导劳动仲裁" in v["outcome"]


def test_evidence_is_the_clause_verbatim_with_times() -> None:
    tr = _tr([
        ("A", "好 那我说一下‖董玉梅下个月十号之前赔高志远一千二‖通过微信转给他"),
        ("B", "行"),
        ("C", "可以"),
    ])
    d = rule_draft(tr, _case(), kind="mediation-agreement")
    (item,) = d.fields["terms"].items
    seg = tr.segments[0]
    for ev in item.evidence:
        assert ev.quote in seg.text and len(ev.quote) < len(seg.text)
        assert seg.start <= ev.start < ev.end <= seg.end and ev.role == "调解员"


def test_cli_refuses_the_agreement_of_a_failed_hearing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys
    from pathlib import Path

    tr = _tr([
        ("B", "我要他赔两千。"),
        ("C", "两千不行，最多五百。"),
        ("A", "双方分歧太大，今天这个调解就调不成了，你们可以去法院起诉。"),
    ])
    (tmp_path / "T.json").write_text(json.dumps(tr.to_dict(), ensure_ascii=False), encoding="utf-8")
    (tmp_path / "S.json").write_text(json.dumps(_case().to_dict(), ensure_ascii=False), encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-c", "from scribe.cli import main; main()", "draft", "-t", str(tmp_path / "T.json"),
           "-s", str(tmp_path / "S.json"), "--no-model"]
    proc = subprocess.run([*cmd, "--template", "mediation-agreement", "-o", str(tmp_path / "a.json")],
                          capture_output=True, text=True, cwd=root, timeout=300)
    assert proc.returncode == 8, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "调解不成" in out and "调不成" in out and "hearing-record" in out
    assert not (tmp_path / "a.json").exists()
    proc = subprocess.run([*cmd, "--template", "hearing-record", "-o", str(tmp_path / "r.json")],
                          capture_output=True, text=True, cwd=root, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert record["fields"]["result"]["value"]["outcome"] == "调解不成"


def test_every_quote_is_verbatim_in_its_segment_even_in_traditional_characters() -> None:
    tr = _tr([
        ("A", "好 那我說一下‖董玉梅下個月十號之前賠高志遠一千二‖通過微信轉給他"),
        ("B", "行"),
        ("C", "可以"),
    ])
    d = rule_draft(tr, _case(), kind="mediation-agreement")
    assert d.values()["terms"], d.values()
    quotes = [ev for fv in d.fields.values() for m in [fv, *(fv.items or [])] for ev in m.evidence]
    quotes += [c.evidence for c in d.candidates]
    assert quotes and all(ev.quote in tr.segments[ev.segment].text for ev in quotes)
    assert not any("verbatim" in w for w in d.warnings)


THREE = [{"id": "p1", "role": "申请人", "name": "高志远", "gender": "男"},
         {"id": "p2", "role": "申请人", "name": "石春花", "gender": "女"},
         {"id": "p3", "role": "被申请人", "name": "董玉梅", "gender": "女"}]


def test_dates_listed_then_an_amount_per_instalment_make_one_schedule_per_obligee() -> None:
    case = CaseFile.from_dict({
        "session_type": "mediation", "date": "2026-09-07", "place": "河口镇司法所",
        "organisation": "河口镇人民调解委员会", "case_number": "（2026）河人调字第9号",
        "staff": STAFF, "parties": THREE, "speakers": {"A": "m1", "B": "p1", "C": "p2", "D": "p3"}})
    tr = _tr([
        ("A", "那我说一下 从下个月开始‖10月15号 11月15号 12月15号 一共三期"),
        ("A", "每期高志远两千 石春花一千‖用微信转账"),
        ("D", "行 我同意"),
        ("B", "可以"),
        ("C", "可以"),
    ])
    terms = rule_draft(tr, case, kind="mediation-agreement").values()["terms"]
    assert len(terms) == 2, terms
    first, second = terms
    assert first.startswith("董玉梅") and second.startswith("董玉梅")  # owed by the one other party
    assert "合计：6000元" in first and "2026年10月15日前2000元" in first and "2026年12月15日前2000元" in first
    assert "合计：3000元" in second and "2026年11月15日前1000元" in second and "2000元" not in second


def test_a_handover_arrangement_sets_when_and_where_and_a_later_one_replaces_a_turned_down_one() -> None:
    # 2026-09-07 is a Monday: 这个礼拜六 is 2026-09-12
    tr = _tr([
        ("A", "第一条 董玉梅补偿高志远一千二百块 现金"),
        ("A", "第二条 高志远把那辆自行车还给董玉梅"),
        ("A", "钱和自行车你们当面交 就在我们司法所交‖下礼拜一上午九点"),
        ("C", "下礼拜一我要上班的 走不开"),
        ("A", "那就这个礼拜六上午 在河口镇司法所 一手交钱一手交车"),
        ("B", "礼拜六可以"),
        ("C", "嗯 就这样吧"),
    ])
    v = rule_draft(tr, _case(), kind="mediation-agreement").values()
    assert len(v["terms"]) == 2, v["terms"]
    assert all("2026年09月12日前" in t for t in v["terms"])
    assert not any("2026年09月14日" in t for t in v["terms"])  # the Monday nobody could come on
    assert v["performance_place"] == "河口镇司法所"
    assert v["performance_deadline"] == "2026-09-12"


def test_a_follow_up_ruled_out_is_none_and_one_promised_with_nin_is_found() -> None:
    staff = [{"id": "s1", "role": "接待人", "name": "林海"}]
    visitor = [{"id": "p1", "role": "咨询人", "name": "高志远"}]
    for line, promised in (("电话您可以留 不过不用专门回访 您有事直接过来", False),
                           ("我们三天之内给您回个电话 告诉您结果", True)):
        tr = _tr([
            ("B", "老板欠我两个月工资八千块 我能去哪里要"),
            ("A", "根据劳动合同法 你可以申请劳动仲裁"),
            ("A", line),
        ])
        got = rule_draft(tr, _case("consultation", parties=visitor, staff=staff),
                         kind="consultation-record").values()["follow_up"]
        assert bool(got) is promised, (line, got)
        if promised:
            assert "2026年09月10日" in got


def test_the_demanding_sides_own_yes_is_no_assent_and_a_failed_hearing_drafts_nothing() -> None:
    two = [{"id": "p1", "role": "申请人", "name": "高志远", "gender": "男"},
           {"id": "p2", "role": "申请人", "name": "石春花", "gender": "女"},
           {"id": "p3", "role": "被申请人", "name": "董玉梅", "gender": "女"}]
    case = CaseFile.from_dict({
        "session_type": "mediation", "date": "2026-09-07", "place": "河口镇司法所",
        "organisation": "河口镇人民调解委员会", "case_number": "（2026）河人调字第9号",
        "staff": STAFF, "parties": two, "speakers": {"A": "m1", "B": "p1", "C": "p2", "D": "p3"}})
    tr = _tr([
        ("B", "我们的要求就是全额退款 一万二 另外再赔五千"),
        ("C", "对 一分不能少"),
        ("D", "全额不可能 我最多退三千"),
        ("B", "三千不行"),
        ("A", "今天看来是谈不拢了 你们可以去法院起诉"),
    ])
    with pytest.raises(NoAgreementError):
        rule_draft(tr, case, kind="mediation-agreement")
    result = rule_draft(tr, case, kind="hearing-record").values()["result"]
    assert result["outcome"] == "调解不成" and result["terms"] == []


def test_a_loan_told_with_its_date_is_narrative_and_a_waiver_is_a_term() -> None:
    tr = _tr([
        ("B", "2024年3月18号 她找我借了三万块 我是微信转给她的"),
        ("C", "认 是我借的"),
        ("B", "利息我就不要了 我就要本钱"),
        ("A", "那就这么定了 董玉梅在12月31号之前 还高志远三万块 微信转账"),
        ("C", "行"),
        ("B", "可以"),
    ])
    terms = rule_draft(tr, _case(), kind="mediation-agreement").values()["terms"]
    assert not any("2024" in t or "2024年03月18日" in t for t in terms), terms
    assert any("30000元" in t and "2026年12月31日前" in t and t.startswith("董玉梅") for t in terms), terms
    assert any(t.startswith("高志远") and "利息" in t for t in terms), terms


def test_a_duration_counted_from_an_event_is_no_calendar_deadline() -> None:
    # "验收合格后十日内": the ten days run from the inspection, not from the hearing
    tr = _tr([
        ("A", "那就这么定了 董玉梅把院墙修好 验收合格后十日内 高志远付她修墙的工钱两千块 现金"),
        ("B", "行"),
        ("C", "可以"),
    ])
    values = rule_draft(tr, _case(), kind="mediation-agreement").values()
    payment = [t for t in values["terms"] if "2000元" in t]
    assert payment and payment[0].startswith("高志远"), values["terms"]
    assert "2026年09月17日" not in payment[0] and "期限" not in payment[0], payment
    assert values["performance_deadline"] != "2026-09-17", values
