"""Rule-based extraction on the hand-written dialogues: values, provenance, and no invention."""

from __future__ import annotations


import datetime as dt
from decimal import Decimal

import pytest

from scribe.casefile import CaseFile
from scribe.extract import rule_draft
from scribe.extract.obligations import spoken_core
from scribe.extract.category import guess_category
from scribe.extract.fields import Source
from scribe.extract.legal import find_legal_bases
from scribe.extract.quantities import find_amounts, find_deadlines
from scribe.types import Transcript, TranscriptSegment
from tests.dialogues import NAMES, load

SESSION_DATE = dt.date(2026, 11, 20)  # a Friday


# -- numbers, deadlines, citations --------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("李四在十五日内支付三万五千元", [35000]),
        ("每期一万元，共两万块钱", [10000, 20000]),
        ("一个月内还清3.5万元", [35000]),
        ("先付5000块，再付人民币1,500元", [5000, 1500]),
        ("来了三万人", []),  # not money
        ("李四和张三是邻居", []),  # names with numerals are not amounts (cn2an.transform would say 李4)
    ],
)
def test_amounts(text: str, yuan: list[int]) -> None:
    assert [a.yuan for a in find_amounts(text)] == [Decimal(v) for v in yuan]


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("十五日内付清", ["2026-12-05"]),
        ("三十天内", ["2026-12-20"]),
        ("本月底前还一半，下个月底之前还清", ["2026-11-30", "2026-12-31"]),
        ("今年年底前", ["2026-12-31"]),
        ("12月20日前付五千块", ["2026-12-20"]),
        ("3月10日前", ["2027-03-10"]),  # said in November: next March
        ("2027年1月31日前支付六千元", ["2027-01-31"]),
        ("十个工作日内", ["2026-12-04"]),  # weekends skipped
        ("一个月内", ["2026-12-20"]),
    ],
)
def test_deadlines_resolve_from_the_session_date(text: str, dates: list[str]) -> None:
    assert [d.date.isoformat() for d in find_deadlines(text, SESSION_DATE)] == dates


@pytest.mark.parametrize(
    ("text", "citations"),
    [
        ("根据《民法典》第一千零七十九条", ["《民法典》第一千零七十九条"]),
        ("按照民法典第1079条第2款的规定", ["《民法典》第一千零七十九条第二款"]),
        ("《中华人民共和国劳动合同法》第三十条和劳动法", ["《劳动合同法》第三十条", "《劳动法》"]),
        ("这个没有法律规定", []),
    ],
)
def test_legal_bases(text: str, citations: list[str]) -> None:
    assert [b.citation for b in find_legal_bases(text)] == citations


def test_category_needs_clear_evidence() -> None:
    assert guess_category("他家把院墙推倒了，我们是邻居").category == "邻里"
    assert guess_category("我们今天来说说情况") is None


def _core(terms: list[str]) -> list[str]:
    """A term as said, without the name the drafter puts first and the amounts and dates it spells
    out after it (the new rendering: obligor named, amounts and resolved deadlines explicit)."""
    return [spoken_core(t) for t in terms]


# -- the three dialogues ---------------------------------------------------------------------
def test_neighbour_wall_agreement_fields_and_provenance() -> None:
    d = load("neighbour-wall")
    draft = rule_draft(d.transcript, d.casefile, kind="mediation-agreement")
    f = draft.fields
    assert _core(f["terms"].value) == d.expected["terms"]
    assert f["terms"].source is Source.TRANSCRIPT
    # every term is quoted from the mediator's own segment, with its time
    for item in f["terms"].items:
        (ev,) = item.evidence
        assert ev.role == "调解员" and ev.speaker == "SPEAKER_00"
        seg = d.transcript.segments[ev.segment]
        assert ev.quote in seg.text and (ev.start, ev.end) == (seg.start, seg.end)
    assert f["performance_deadline"].value == "2027-02-28"
    assert f["performance_manner"].value == "分三期、银行转账"
    assert [x.split("：")[1] for x in f["deadlines"].value] == [
        "2026年12月20日", "2026年12月31日", "2027年01月31日", "2027年02月28日"]
    assert f["legal_bases"].value == d.expected["legal_bases"]
    assert f["dispute_category"].value == "邻里"
    assert f["copies"].value == 3 and f["judicial_confirmation_deadline"].value == "2026-12-20"
    # the respondent's age was not typed; he said it himself, so it comes from his own turn
    age = f["parties"].items[1].parts["age"]
    assert age.value == 58 and age.source is Source.TRANSCRIPT
    assert age.evidence[0].name == "李国强" and "五十八岁" in age.evidence[0].quote
    # nobody said the respondent's phone or occupation, nor where the terms are performed
    assert set(draft.missing) == {"parties.1.occupation", "parties.1.phone", "performance_place"}
    assert f["performance_place"].value is None and f["performance_place"].confidence == 0
    assert any(p.startswith("performance_place") for p in draft.problems)
    facts = f["facts"].value
    assert "院墙" in facts and "两万" in facts and "被申请人李国强称" in facts


def test_wage_consultation_question_answer_outcome() -> None:
    d = load("wage-arrears")
    draft = rule_draft(d.transcript, d.casefile, kind="consultation-record")
    f = draft.fields
    assert all(w in f["question"].value for w in d.expected["question_keywords"])
    assert all(e.role == "咨询人" for e in f["question"].evidence)
    assert all(w in f["answer"].value for w in d.expected["answer_keywords"])
    assert all(e.role == "接待人" for e in f["answer"].evidence)
    assert f["legal_bases"].value == d.expected["legal_bases"]
    # arbitration was advised only on a condition ("如果对方还是不给…也可以申请劳动仲裁") and not taken
    # up; legal aid was offered and accepted: only that is an outcome
    assert f["outcome"].value == ["转法律援助"]
    assert f["category"].value == "拖欠农民工工资"
    visitor = f["visitor"].parts
    assert visitor["name"].value == "赵春梅" and visitor["name"].source is Source.TRANSCRIPT
    assert visitor["gender"].source is Source.SESSION
    assert "satisfaction" in draft.missing and "visitor.phone" in draft.missing
    assert draft.problems == []  # satisfaction, phone etc. are optional on a consultation record


def test_declined_identity_is_recorded_not_missing() -> None:
    d = load("wage-arrears")
    data = d.casefile.to_dict()
    data["parties"][0] = {"id": "v1", "role": "咨询人", "identity_declined": True}
    draft = rule_draft(d.transcript, CaseFile.from_dict(data), kind="consultation-record")
    visitor = draft.fields["visitor"]
    assert visitor.value == {"identity_declined": True}
    assert not any(p.startswith("visitor") for p in draft.missing)


def test_divorce_three_parties() -> None:
    d = load("divorce-property")
    draft = rule_draft(d.transcript, d.casefile, kind="mediation-agreement")
    f = draft.fields
    assert [p["name"] for p in f["parties"].value] == ["陈丽", "周伟", "孙桂兰"]
    assert [p["side"] for p in f["parties"].value] == ["甲方", "乙方", "丙方"]
    assert f["copies"].value == 4
    assert _core(f["terms"].value) == d.expected["terms"]
    # terms 2 and 3 were dictated in one segment: both cite it
    assert f["terms"].items[1].evidence[0].segment == f["terms"].items[2].evidence[0].segment
    assert f["performance_place"].value == "城关镇司法所"
    assert f["performance_deadline"].value == "2026-12-15"
    assert f["dispute_category"].value == "婚姻家庭"
    assert draft.problems == []
    assert draft.missing == ["responsibility"]


# -- role awareness and no invention ------------------------------------------------------
def _transcript(turns: list[tuple[str | None, str]]) -> Transcript:
    segs, t = [], 0.0
    for speaker, text in turns:
        segs.append(TranscriptSegment(start=t, end=t + 2, text=text, speaker=speaker))
        t += 2.5
    return Transcript(language="zh", duration=t, model="test", segments=tuple(segs))


def test_a_party_saying_the_cue_makes_no_terms() -> None:
    d = load("neighbour-wall")
    tr = _transcript([
        ("SPEAKER_01", "我希望经调解双方自愿达成如下协议：第一，李国强赔我十万元。"),
        ("SPEAKER_00", "你先别急，我们慢慢说。"),
    ])
    draft = rule_draft(tr, d.casefile, kind="mediation-agreement")
    assert draft.fields["terms"].source is Source.MISSING
    assert draft.fields["performance_deadline"].source is Source.MISSING
    assert "terms" in draft.missing and _core(draft.fields["terms"].value) == []


def test_nothing_is_invented_from_small_talk() -> None:
    d = load("divorce-property")
    tr = _transcript([("SPEAKER_00", "大家好，今天先到这里。"), ("SPEAKER_01", "好的。")])
    draft = rule_draft(tr, d.casefile, kind="mediation-agreement")
    for name in ("facts", "terms", "performance_manner", "performance_place", "performance_deadline",
                 "dispute_category", "legal_bases"):
        assert draft.fields[name].source is Source.MISSING, name
    # what staff typed still stands
    assert draft.fields["case_number"].value == "（2026）城人调字第41号"


def test_unmapped_speakers_and_traditional_characters() -> None:
    d = load("neighbour-wall")
    tr = _transcript([
        ("SPEAKER_00", "經調解，雙方自願達成如下協議：第一，李國強於十五日內支付兩萬元。"),
        ("SPEAKER_07", "我是他表哥。"),
    ])
    draft = rule_draft(tr, d.casefile, kind="mediation-agreement")
    assert _core(draft.fields["terms"].value) == ["李国强于十五日内支付两万元。"]
    assert any("SPEAKER_07" in w for w in draft.warnings)
    record = rule_draft(tr, d.casefile, kind="hearing-record")
    assert record.fields["turns"].value[1]["speaker"] == "未确认发言人（SPEAKER_07）"
    assert any("SPEAKER_07" in p for p in record.problems)


def test_draft_json_round_trip(tmp_path) -> None:
    from scribe.extract.draft import Draft

    d = load("divorce-property")
    draft = rule_draft(d.transcript, d.casefile, kind="mediation-agreement")
    draft.dump(tmp_path / "draft.json")
    again = Draft.load(tmp_path / "draft.json")
    assert again.values() == draft.values() and again.missing == draft.missing


@pytest.mark.parametrize("name", NAMES)
def test_every_dialogue_matches_its_expected_fields(name: str) -> None:
    d = load(name)
    exp = d.expected
    v = rule_draft(d.transcript, d.casefile, kind=exp["template"]).values()
    assert v["legal_bases"] == exp["legal_bases"]
    if exp["template"] == "mediation-agreement":
        assert _core(v["terms"]) == exp["terms"]
        assert v["dispute_category"] == exp["dispute_category"]
        assert v["performance_deadline"] == exp["performance_deadline"]
        assert v["performance_place"] == exp["performance_place"]
        assert v["copies"] == exp["copies"]
        assert v["judicial_confirmation_deadline"] == exp["judicial_confirmation_deadline"]
        assert bool(v["responsibility"]) == exp["responsibility"]
    else:
        assert v["category"] == exp["category"] and v["outcome"] == exp["outcome"]


def test_a_transcript_without_speaker_labels_says_what_to_do() -> None:
    d = load("neighbour-wall")
    tr = _transcript([(None, "经调解，双方自愿达成如下协议：第一，李国强于十五日内支付两万元。")])
    draft = rule_draft(tr, d.casefile, kind="mediation-agreement")
    assert draft.fields["terms"].source is Source.MISSING  # nobody is known to be the mediator
    assert any("no speaker labels" in w and "scribe diarize" in w for w in draft.warnings)


def test_session_file_gives_recognition_hotwords_and_role_lookups() -> None:
    cf = load("divorce-property").casefile
    words = cf.recognition_hotwords()
    assert words[:4] == ["陈丽", "周伟", "孙桂兰", "幸福小区"] and "王建国" in words and "城关镇司法所调解室" in words
    assert len(words) == len(set(words))
    assert cf.person_for_speaker("SPEAKER_03").display == "第三人孙桂兰"
    assert cf.speakers_with_role(*[p.role for p in cf.bound_parties]) == {"SPEAKER_01", "SPEAKER_02", "SPEAKER_03"}
    assert [p.name for p in cf.bound_parties] == ["陈丽", "周伟", "孙桂兰"] and cf.recorder.name == "李静"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"speakers": {"SPEAKER_09": "ghost"}}, "no party or staff id"),
        ({"dispute_category": "吵架"}, "dispute_category"),
        ({"parties": [{"id": "p1", "role": "咨询人"}], "speakers": {}}, "咨询人"),
        ({"parties": [{"id": "p 1", "role": "申请人"}]}, "letters, digits"),
        ({"parties": [{"id": "p1", "role": "申请人", "id_number": "12345"}]}, "居民身份证"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_session_file_errors_name_the_field(change: dict, message: str) -> None:
    from scribe.errors import DocumentError

    data = load("divorce-property").casefile.to_dict()
    data.update(change)
    with pytest.raises(DocumentError, match=message):
        CaseFile.from_dict(data)


@pytest.mark.parametrize("name", NAMES)
def test_every_note_is_chinese_with_an_english_twin(name: str) -> None:
    """The review page is Chinese: a note (why a field is missing, how it was derived) must not
    reach it as machine English; the English page has the twin."""
    from scribe.text.zh import has_han

    d = load(name)
    for kind in ("mediation-agreement", "consultation-record", "hearing-record"):
        draft = rule_draft(d.transcript, d.casefile, kind=kind)
        seen = 0

        def walk(fv) -> None:  # noqa: ANN001
            nonlocal seen
            if fv.note:
                seen += 1
                assert has_han(fv.note) and fv.note_en and fv.note_en != fv.note, (fv.note, fv.note_en)
            for child in (fv.items or []) + list((fv.parts or {}).values()):
                walk(child)

        for fv in draft.fields.values():
            walk(fv)
        assert seen, f"{name}/{kind}: no notes at all"
