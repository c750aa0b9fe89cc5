"""Transcript corrections beside the original, on whisper-base's own transcript of a real
recording (tests/data/transcripts/conv_zh_dev_02.whisper-base.json); the office lexicon's
decisions; dates typed as people write them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from scribe.errors import SessionError
from scribe.review import transcript_edits as E
from scribe.review.lexicon import Learnt, learnable
from scribe.review.typed_dates import parse_typed_date

WHISPER = Path(__file__).resolve().parent / "data" / "transcripts" / "conv_zh_dev_02.whisper-base.json"


@pytest.fixture()
def segs() -> list[dict[str, Any]]:
    return list(json.loads(WHISPER.read_text(encoding="utf-8"))["segments"])


def test_every_character_is_a_token_and_unsure_words_are_the_decoders_own(segs: list[dict[str, Any]]) -> None:
    view = E.view({}, segs)
    assert len(view["turns"]) == len(segs)
    for turn, seg in zip(view["turns"], segs, strict=True):
        assert "".join(t["t"] for t in turn["tokens"]) == seg["text"]
        timed = [t for t in turn["tokens"] if "s" in t]
        assert timed and all(seg["start"] - 0.05 <= t["s"] <= t["e"] <= seg["end"] + 0.05 for t in timed)
        assert [t["s"] for t in timed] == sorted(t["s"] for t in timed)
        unsure = {t["s"] for t in turn["tokens"] if t.get("unsure")}
        assert unsure == {round(w["start"], 3) for w in seg["words"] if w["probability"] < E.UNSURE_BELOW}


def test_a_line_retyped_keeps_the_original_and_typing_it_back_undoes_it(segs: list[dict[str, Any]]) -> None:
    state = E.state_of({}, segs)
    before, after = E.edit_text(state, segs, "t0", segs[0]["text"].replace("马战山", "马占山"), by="审核", at="now")
    assert before == segs[0]["text"] and "马占山" in after
    t0 = E.view(state, segs)["turns"][0]
    assert t0["edited"] and t0["original"] == segs[0]["text"] and "马占山" in t0["text"]
    typed = [t for t in t0["tokens"] if t.get("edited")]
    assert [t["t"] for t in typed] == ["占"] and "unsure" not in typed[0]
    E.edit_text(state, segs, "t0", segs[0]["text"], by="审核", at="later")
    assert not E.view(state, segs)["turns"][0]["edited"] and state["turns"][0]["text"] is None
    assert [e["op"] for e in state["log"]] == ["text", "text"]
    with pytest.raises(SessionError):
        E.edit_text(state, segs, "t0", "  ", by="审核", at="now")
    with pytest.raises(E.TurnNotFound):
        E.edit_text(state, segs, "t99", "x", by="审核", at="now")


def test_split_then_merge_gives_back_the_turn(segs: list[dict[str, Any]]) -> None:
    state = E.state_of({}, segs)
    original = E.view({}, segs)["turns"]
    at = segs[1]["text"].index("但是")
    new = E.split(state, segs, "t1", at, by="审核", at_time="now")
    turns = E.view(state, segs)["turns"]
    assert len(turns) == len(segs) + 1 and turns[2]["id"] == new
    assert turns[1]["text"] + turns[2]["text"] == segs[1]["text"]
    assert turns[1]["start"] == original[1]["start"] and turns[2]["end"] == original[1]["end"]
    assert turns[1]["end"] <= turns[2]["start"] + 1e-6
    E.merge_with_previous(state, segs, new, by="审核", at="now")
    merged = E.view(state, segs)["turns"]
    assert [(t["text"], t["start"], t["end"], t["edited"]) for t in merged] == \
        [(t["text"], t["start"], t["end"], t["edited"]) for t in original]
    with pytest.raises(SessionError):
        E.merge_with_previous(state, segs, "t0", by="审核", at="now")
    with pytest.raises(SessionError):
        E.split(state, segs, "t1", 0, by="审核", at_time="now")


def test_an_edited_turn_splits_where_the_reviewer_sees_it(segs: list[dict[str, Any]]) -> None:
    state = E.state_of({}, segs)
    E.edit_text(state, segs, "t0", segs[0]["text"].replace("苏北军", "东北军"), by="审核", at="now")
    text = E.current_text(state["turns"][0], segs)
    at = text.index("李斗")
    E.split(state, segs, "t0", at, by="审核", at_time="now")
    a, b = E.view(state, segs)["turns"][:2]
    assert a["text"] + b["text"] == text and a["text"].startswith("东北军") and b["text"].startswith("李斗")


def test_replace_all_and_what_drafting_reads(segs: list[dict[str, Any]]) -> None:
    state = E.state_of({}, segs)
    n = E.count(state, segs, "金算")
    assert n >= 3
    count, touched = E.replace_all(state, segs, "金算", "金融", by="审核", at="now")
    assert count == n and touched and E.count(state, segs, "金算") == 0
    E.set_speaker(state, segs, "t2", "人工1", by="审核", at="now")
    out = E.corrected_segments(state, segs)
    assert len(out) == len(segs) and out[2]["speaker"] == "人工1" and out[3]["speaker"] == segs[3]["speaker"]
    assert all("金算" not in s["text"] for s in out)
    kept = [i for i, s in enumerate(out) if s["text"] == segs[i]["text"]]
    assert kept and all(out[i]["words"] == segs[i]["words"] for i in kept)  # untouched turns keep their words
    assert all(not out[i]["words"] for i in (int(t[1:]) for t in touched))
    legacy = E.by_segment(state, segs)
    assert set(legacy) == {t[1:] for t in touched} and all(v["original"] != v["text"] for v in legacy.values())


def test_corrections_of_before_the_turns_are_read(segs: list[dict[str, Any]]) -> None:
    old = {"2": {"original": segs[2]["text"], "text": "那如果说回我当时的情况。", "by": "王调解员", "at": "2026-11-30T10:00:00"}}
    turns = E.view(old, segs)["turns"]
    assert turns[2]["text"] == "那如果说回我当时的情况。" and turns[2]["original"] == segs[2]["text"]
    assert E.corrected_segments(old, segs)[2]["text"] == "那如果说回我当时的情况。"
    assert E.state_of(old, segs)["log"][0]["by"] == "王调解员"


def test_a_transcript_redone_under_the_corrections_is_flagged(segs: list[dict[str, Any]]) -> None:
    state = E.state_of({}, segs)
    E.edit_text(state, segs, "t0", "东北军", by="审核", at="now")
    assert not E.view(state, segs)["stale"]
    redone = [{**s, "text": s["text"] + "。"} for s in segs]
    assert E.view(state, redone)["stale"]


def test_what_a_correction_teaches_the_lexicon() -> None:
    line = "苏北军的一些爱国将是马战山、李斗、唐俊吾、苏礼艾"
    fixed = line.replace("马战山", "马占山").replace("唐俊吾", "唐聚五")
    got = learnable(line, fixed, people=["张三", "李四"], recognised=line)
    assert Learnt("马占山", "name") in got and Learnt("唐聚五", "name") in got
    # a party's name, whatever jieba makes of it
    assert learnable("我叫张山", "我叫张三", people=["张三", "李四"], recognised="我叫张山") == [Learnt("张三", "name")]
    # common words typed over wrong ones are not names or terms
    assert learnable("我可以出一部分钱。", "我可以出一半的钱。", people=[], recognised="我可以出一部分钱。") == []
    assert learnable("就中国金算实体系", "就中国金融实体系", people=[], recognised="就中国金算实体系") == []
    # a place name the recogniser never wrote is learnt; one it did write is not
    place = learnable("由太元是南郊区", "由太原市南郊区", people=[], recognised="由太元是南郊区")
    assert Learnt("太原市", "place") in place
    assert learnable("由太元是南郊区", "由太原市南郊区", people=[], recognised="太原市 由太元是南郊区") == []


@pytest.mark.parametrize(("typed", "want"), [
    ("2026年12月31日前", dt.date(2026, 12, 31)), ("12月31日", dt.date(2026, 12, 31)), ("2026/12/31", dt.date(2026, 12, 31)),
    ("2026.12.31", dt.date(2026, 12, 31)), ("二〇二六年十二月三十一日", dt.date(2026, 12, 31)), ("年底", dt.date(2026, 12, 31)),
    ("2027/1/5", dt.date(2027, 1, 5)), ("2026/13/40", None), ("过几天再说", None), ("3月5日和4月6日", None),
])  # fmt: skip
def test_dates_typed_as_people_write_them(typed: str, want: dt.date | None) -> None:
    assert parse_typed_date(typed, dt.date(2026, 12, 1)) == want
