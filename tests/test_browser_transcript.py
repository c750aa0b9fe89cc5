"""The review room in real headless Chromium against a real server process thread.

Two hearings of office A:
- *recorded*: the real recording conversations/conv_zh_dev_02.wav (95 s, four voices) with
  whisper-base's own transcript of it (tests/data/transcripts/conv_zh_dev_02.whisper-base.json,
  made by ``Transcriber.transcribe(language="zh")`` on this machine: real words, real word
  probabilities, real mistakes such as 马战山 for 马占山 and 金算 for 金融); speaker labels are
  the reference turns' voices (S1..S4) by overlap.
- *dialogue*: the mediation dialogue of the server tests (text of a real mediation), with a
  stretch of unrecognised speech, for drafting.

A reviewer corrects a word by clicking it, replaces across the hearing, reassigns one turn and a
whole label, splits and merges, plays and rewinds with the keyboard (the audio element's
currentTime is read back); the lexicon learns the corrected name and the next hearing's
hotwords hold it; 生成草稿 twice keeps one current draft and lists the earlier; a natural date is
accepted; the approval dialog counts what the page lists; the document is shown page by page.
Screenshots in build/screenshots/ (copied to docs/screenshots/ once looked at).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import PASSWORD, MemoryLive, ServerThread, login, make_settings, seed_accounts
from test_browser_pages import ARGS
from test_server_review import DialogueLive

from server import create_app

ROOT = Path(__file__).resolve().parent
SHOTS = ROOT.parent / "build" / "screenshots"
WHISPER = ROOT / "data" / "transcripts" / "conv_zh_dev_02.whisper-base.json"
pytestmark = [pytest.mark.browser]


def _recorded(shared: Path) -> dict[str, Any]:
    data = json.loads(WHISPER.read_text(encoding="utf-8"))
    ref = json.loads((shared / "conversations" / "conv_zh_dev_02.json").read_text(encoding="utf-8"))
    voices: dict[str, str] = {}
    for turn in ref:
        voices.setdefault(turn["speaker"], f"S{len(voices) + 1}")
    for seg in data["segments"]:  # the reference voice that overlaps the segment most
        best = max(ref, key=lambda r: min(r["end"], seg["end"]) - max(r["start"], seg["start"]))
        seg["speaker"] = voices[best["speaker"]]
    return data


class RoomLive(DialogueLive):
    """The dialogue for every hearing, except the ones given a real recording."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.recordings: dict[str, tuple[dict[str, Any], Path]] = {}

    def transcript(self, sid: str) -> dict[str, Any] | None:
        if sid in self.recordings:
            return json.loads(json.dumps(self.recordings[sid][0]))
        data = super().transcript(sid)
        assert data is not None
        t = data["segments"][2]["end"] + 0.5  # speech nobody could make out, between two turns
        data["segments"].insert(3, {"start": t, "end": t + 3.0, "speaker": "S2", "text": "【未能识别】",
                                    "words": [], "unrecognised": True})
        return data

    def audio_path(self, sid: str) -> Path | None:
        return self.recordings[sid][1] if sid in self.recordings else MemoryLive.audio_path(self, sid)


def _new_hearing(c: httpx.Client, case: str) -> str:
    h = c.post("/api/hearings", json={"kind": "mediation", "case_number": case, "category": "邻里",
                                      "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]})
    assert h.status_code == 201, h.text
    hid = str(h.json()["id"])
    for i in (0, 1):
        assert c.post(f"/api/hearings/{hid}/consent", json={"party_index": i, "consented": True, "notice_read": True}).status_code == 201
    return hid


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("room")
    SHOTS.mkdir(parents=True, exist_ok=True)
    settings = make_settings(root, server_delivery_worker=False)
    seed_accounts(settings)
    live = RoomLive(root)
    server = ServerThread(create_app(settings, live=live))
    with closing(httpx.Client(base_url=server.url, timeout=120)) as c:
        login(c, "med_a")
        recorded = _new_hearing(c, "（2026）城人调字第11号")
        live.recordings[live.session_id_for(recorded)] = (_recorded(shared_data), shared_data / "conversations" / "conv_zh_dev_02.wav")
        dialogue = _new_hearing(c, "（2026）城人调字第12号")
        for hid in (recorded, dialogue):
            for label, role, name in (("S1", "mediator", "王调解员"), ("S2", "applicant", "张三"), ("S3", "respondent", "李四")):
                assert c.put(f"/api/hearings/{hid}/speakers/{label}", json={"role": role, "name": name}).status_code == 200
            assert c.post(f"/api/hearings/{hid}/record").status_code == 200
            assert c.post(f"/api/hearings/{hid}/stop").status_code == 200
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=[*ARGS, "--autoplay-policy=no-user-gesture-required"])
            yield {"url": server.url, "recorded": recorded, "dialogue": dialogue, "browser": browser, "live": live}
            browser.close()
    finally:
        server.close()


def _page(stack: dict[str, Any], user: str, hearing: str, path: str = "review") -> Any:
    page = stack["browser"].new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{stack['url']}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(stack["url"] + "/")
    page.goto(f"{stack['url']}/hearings/{hearing}/{path}" if path else f"{stack['url']}/{hearing}")
    return page


def _api(stack: dict[str, Any], user: str = "med_a") -> httpx.Client:
    c = httpx.Client(base_url=stack["url"], timeout=120)
    login(c, user)
    return c


def _turns(stack: dict[str, Any], hid: str) -> list[dict[str, Any]]:
    with closing(_api(stack)) as c:
        return list(c.get(f"/api/hearings/{hid}/transcript/turns").json()["turns"])


def _time(page: Any) -> float:
    return float(page.evaluate("document.getElementById('player').currentTime"))


def _word(page: Any, turn: str, text: str) -> Any:
    return page.locator(f'.tseg[data-turn="{turn}"] .w[data-s]', has_text=text).first


def test_a_word_clicked_plays_from_it_and_is_corrected_in_place(stack: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page = _page(stack, "med_a", stack["recorded"])
    page.locator(".tseg").first.wait_for()
    assert page.locator(".tseg").count() == 10
    # words the recogniser was unsure of are marked (the real probabilities of this decode)
    unsure = [w["t"] for t in _turns(stack, stack["recorded"]) for w in t["tokens"] if w.get("unsure")]
    assert unsure and page.locator(".w.unsure").count() == len(unsure)
    word = _word(page, "t0", "战")
    start = float(word.get_attribute("data-s") or 0)
    word.click()
    page.wait_for_function("() => document.getElementById('player').readyState >= 2")
    assert abs(_time(page) - start) < 0.6, (_time(page), start)
    page.wait_for_function("() => !document.getElementById('player').paused")
    expect(page.locator('.tseg[data-turn="t0"] .w.now')).to_have_count(1)  # the word being played
    page.locator('.tseg[data-turn="t0"]').screenshot(path=str(SHOTS / "review-word-playing.png"))
    page.keyboard.press("Escape")  # pause
    word.dblclick()
    box = page.locator(".word-edit")
    box.wait_for()
    assert box.input_value() == "战"
    box.fill("占")
    box.press("Enter")
    page.locator('.tseg[data-turn="t0"] .orig').wait_for()
    assert "马占山" in page.locator('.tseg[data-turn="t0"] .ttext').inner_text()
    assert "马战山" in page.locator('.tseg[data-turn="t0"] .orig').inner_text()  # the original beside it
    expect(page.locator("#review-msg")).to_contain_text("马占山")  # learnt into the office lexicon
    t0 = _turns(stack, stack["recorded"])[0]
    assert "马占山" in t0["text"] and "马战山" in t0["original"] and t0["edited"]
    # the corrected word still plays from where it was said
    fixed = next(w for w in t0["tokens"] if w["t"] == "占")
    assert fixed.get("edited") and abs(fixed["s"] - start) < 0.01
    assert page.errors == []  # type: ignore[attr-defined]


def test_find_and_replace_across_the_hearing(stack: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page = _page(stack, "med_a", stack["recorded"])
    page.locator(".tseg").first.wait_for()
    before = sum(t["text"].count("金算") for t in _turns(stack, stack["recorded"]))
    assert before >= 3  # whisper-base heard 金融 (finance) as 金算 all through one speaker's turns
    page.fill("#find", "金算")
    expect(page.locator("#replace-all")).to_have_text(f"全部替换 {before} 处")
    expect(page.locator(".tseg.found")).to_have_count(len([t for t in _turns(stack, stack["recorded"]) if "金算" in t["text"]]))
    page.fill("#replace", "金融")
    page.locator(".find-bar").screenshot(path=str(SHOTS / "review-replace-all.png"))
    page.click("#replace-all")
    expect(page.locator("#review-msg")).to_have_text(f"已替换 {before} 处")
    turns = _turns(stack, stack["recorded"])
    assert not any("金算" in t["text"] for t in turns)
    assert any("金算" in t["original"] and "金融" in t["text"] for t in turns)
    # a name, across the hearing: the recogniser's 唐俊吾 is 唐聚五 (a name it never wrote)
    page.fill("#find", "唐俊吾")
    expect(page.locator("#replace-all")).to_have_text("全部替换 1 处")
    page.fill("#replace", "唐聚五")
    page.click("#replace-all")
    expect(page.locator("#review-msg")).to_contain_text("唐聚五")
    assert "唐聚五" in _turns(stack, stack["recorded"])[0]["text"]
    assert page.errors == []  # type: ignore[attr-defined]


def test_one_turn_and_a_whole_label_get_another_speaker(stack: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page = _page(stack, "med_a", stack["recorded"])
    page.locator(".tseg").first.wait_for()
    turns = _turns(stack, stack["recorded"])
    one = turns[1]  # an S2 turn (张三) that we give to the mediator 王调解员
    options = page.locator(f'.tseg[data-turn="{one["id"]}"] select.turn-speaker option').all_inner_texts()
    assert any("张三" in o for o in options) and any("李四" in o for o in options) and any("赵审核" in o for o in options)
    page.select_option(f'.tseg[data-turn="{one["id"]}"] select.turn-speaker', label="调解员 王调解员")
    page.click(f'.tseg[data-turn="{one["id"]}"] .scope-one')
    expect(page.locator(f'.tseg[data-turn="{one["id"]}"] .orig')).to_contain_text("原说话人")
    after = {t["id"]: t for t in _turns(stack, stack["recorded"])}
    assert after[one["id"]]["speaker"] == "S1" and after[one["id"]]["original_speaker"] == one["speaker"]
    assert all(after[t["id"]]["speaker"] == t["speaker"] for t in turns if t["id"] != one["id"])
    # a whole label: every turn of S4 (nobody named it) is 李四's
    s4 = [t["id"] for t in turns if t["speaker"] == "S4"]
    assert s4
    sel = f'.tseg[data-turn="{s4[0]}"] select.turn-speaker'
    page.select_option(sel, label="被申请人 李四")
    expect(page.locator(f'.tseg[data-turn="{s4[0]}"] .scope-all')).to_contain_text(f"全部 {len(s4)} 段")
    page.click(f'.tseg[data-turn="{s4[0]}"] .scope-all')
    for tid in s4:
        expect(page.locator(f'.tseg[data-turn="{tid}"] select.turn-speaker option').first).to_have_text("被申请人 李四")
    with closing(_api(stack)) as c:
        assert c.get(f"/api/hearings/{stack['recorded']}").json()["speakers"]["S4"] == {"role": "respondent", "name": "李四"}
    page.locator("#transcript-col").screenshot(path=str(SHOTS / "review-transcript-editor.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def test_split_and_merge_a_turn(stack: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page = _page(stack, "med_a", stack["recorded"])
    page.locator(".tseg").first.wait_for()
    n = page.locator(".tseg").count()
    t1 = _turns(stack, stack["recorded"])[1]
    cut = t1["text"].index("但是")
    _word(page, t1["id"], "但是").click()
    page.keyboard.press("Escape")
    page.click(f'.tseg[data-turn="{t1["id"]}"] .split')
    expect(page.locator(".tseg")).to_have_count(n + 1)
    turns = _turns(stack, stack["recorded"])
    first, second = turns[1], turns[2]
    assert first["text"] == t1["text"][:cut] and second["text"] == t1["text"][cut:]
    assert first["end"] <= second["start"] + 0.01 and first["start"] == t1["start"]
    page.click(f'.tseg[data-turn="{second["id"]}"] .merge')
    expect(page.locator(".tseg")).to_have_count(n)
    assert _turns(stack, stack["recorded"])[1]["text"] == t1["text"]
    assert page.errors == []  # type: ignore[attr-defined]


def test_keyboard_plays_pauses_rewinds_skips_and_changes_speed(stack: dict[str, Any]) -> None:
    page = _page(stack, "med_a", stack["recorded"])
    page.locator(".tseg").first.wait_for()
    keys = page.locator("#keys").text_content() or ""
    assert "Esc" in keys and "回退2秒" in keys and "F3" in keys and "F1" in keys and "0.75×–1.5×" in keys
    t3 = _turns(stack, stack["recorded"])[3]
    _word(page, t3["id"], t3["tokens"][0]["t"]).click()  # plays from about 31 s
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.wait_for_timeout(1500)
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.getElementById('player').paused")
    paused_at = _time(page)
    assert paused_at > t3["start"]
    page.keyboard.press("Escape")  # resume: 2 s back
    resumed = _time(page)
    assert abs(resumed - (paused_at - 2)) < 0.4, (paused_at, resumed)
    page.keyboard.press("Escape")
    here = _time(page)
    page.keyboard.press("F3")
    assert abs(_time(page) - (here - 5)) < 0.4
    page.keyboard.press("F4")
    page.keyboard.press("F4")
    assert abs(_time(page) - (here + 5)) < 0.4
    page.keyboard.press("F2")
    assert page.evaluate("document.getElementById('player').playbackRate") == 1.25
    page.keyboard.press("F2")
    page.keyboard.press("F2")  # 1.5 is the fastest
    assert page.evaluate("document.getElementById('player').playbackRate") == 1.5
    for _ in range(4):
        page.keyboard.press("F1")
    assert page.evaluate("document.getElementById('player').playbackRate") == 0.75
    assert page.input_value("#speed") == "0.75"
    # outside a text box: space and the arrows
    page.locator("#transcript-col .hint").first.click() if page.locator("#transcript-col .hint").count() else None
    here = _time(page)
    page.keyboard.press("ArrowLeft")
    assert abs(_time(page) - max(0.0, here - 5)) < 0.4
    page.locator("#keys summary").click()
    page.locator("#transcript-col").screenshot(path=str(SHOTS / "review-keyboard-help.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_lexicon_learns_the_corrected_name_and_the_next_hearing_gets_it(stack: dict[str, Any]) -> None:
    with closing(_api(stack, "admin")) as admin:
        words = {e["word"]: e for e in admin.get("/api/lexicon").json()}
    if "马占山" not in words:  # this test alone: correct the word through the API as the page does
        with closing(_api(stack)) as c:
            t0 = _turns(stack, stack["recorded"])[0]
            r = c.put(f"/api/hearings/{stack['recorded']}/transcript/turns/t0", json={"text": t0["text"].replace("马战山", "马占山")})
            assert r.status_code == 200 and "马占山" in r.json()["learnt"]
        with closing(_api(stack, "admin")) as admin:
            words = {e["word"]: e for e in admin.get("/api/lexicon").json()}
    assert words["马占山"]["kind"] == "name" and words["马占山"]["office"] == "城关司法所"
    assert "金融" not in words  # a common word typed over a wrong one is not a name or a term
    with closing(_api(stack)) as c:
        nxt = _new_hearing(c, "（2026）城人调字第13号")
        assert c.post(f"/api/hearings/{nxt}/record").status_code == 200
    start = stack["live"].starts[-1]
    assert start.hearing_id == nxt and "马占山" in start.hotwords and "张三" in start.hotwords
    assert list(start.hotwords).index("张三") < list(start.hotwords).index("马占山")  # the hearing's own first
    # listed and editable on the admin page; switched off, the next hearing no longer gets it
    page = _page(stack, "admin", "admin", path="")
    row = page.locator('#lexicon-table tr[data-lex="马占山"]')
    row.wait_for()
    assert row.locator("select").input_value() == "name"
    page.locator("#lexicon").screenshot(path=str(SHOTS / "admin-lexicon.png"))
    row.locator("input[type=checkbox]").uncheck()
    page.locator("#lexicon-msg").filter(has_text="已保存").wait_for()
    with closing(_api(stack)) as c:
        again = _new_hearing(c, "（2026）城人调字第14号")
        assert c.post(f"/api/hearings/{again}/record").status_code == 200
    assert "马占山" not in stack["live"].starts[-1].hotwords
    assert page.errors == []  # type: ignore[attr-defined]


def test_make_draft_twice_keeps_one_current_draft_and_lists_the_earlier(stack: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page = _page(stack, "med_a", stack["dialogue"])
    page.locator("#transcript-review .tseg").first.wait_for()
    lost = page.locator(".tseg.unrecognised")
    assert lost.count() == 1 and "【未能识别】" in lost.inner_text()
    lost.locator(".play-lost").click()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.click("#make-draft")
    page.locator("#doc-version").filter(has_text="第1版").wait_for(timeout=120_000)
    page.click("#make-draft")
    page.locator("#doc-version").filter(has_text="第2版").wait_for(timeout=120_000)
    expect(page.locator("#review-msg")).to_contain_text("第1版")
    expect(page.locator("#version-list li")).to_have_count(1)
    with closing(_api(stack)) as c:
        docs = c.get(f"/api/hearings/{stack['dialogue']}/documents").json()
        assert len(docs) == 1 and docs[0]["version"] == 2 and docs[0]["status"] == "draft"
        versions = c.get(f"/api/hearings/{stack['dialogue']}/documents/{docs[0]['id']}/versions").json()
        assert [v["version"] for v in versions] == [1, 2] and versions[0]["made"] == "generated"
        old = c.get(f"/api/hearings/{stack['dialogue']}/documents/{docs[0]['id']}/versions/1/docx")
        assert old.status_code == 200 and old.content[:2] == b"PK"
    page.locator("#versions").screenshot(path=str(SHOTS / "review-versions.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def _ensure_draft(stack: dict[str, Any]) -> None:
    with closing(_api(stack)) as c:
        if not c.get(f"/api/hearings/{stack['dialogue']}/documents").json():
            assert c.post(f"/api/hearings/{stack['dialogue']}/documents", json={}).status_code == 201


def test_a_natural_date_is_accepted_and_the_approval_dialog_counts_the_list(stack: dict[str, Any]) -> None:
    _ensure_draft(stack)
    page = _page(stack, "rev_a", stack["dialogue"])
    box = page.locator('[data-field="performance_deadline"] input')
    box.wait_for()
    box.fill("2026年12月31日前")
    box.press("Tab")
    page.locator("#review-msg").filter(has_text="已保存").wait_for()
    assert page.locator('[data-field="performance_deadline"] input').input_value() == "2026-12-31"
    with closing(_api(stack)) as c:
        doc = c.get(f"/api/hearings/{stack['dialogue']}/documents").json()[0]
    assert doc["fields"]["performance_deadline"]["value"] == "2026-12-31"
    assert not [p for p in doc["problems"] if "performance_deadline" in p]
    for typed, want in (("12月31日", "2026-12-31"), ("2026/12/30", "2026-12-30")):
        box = page.locator('[data-field="performance_deadline"] input')
        box.fill(typed)
        box.press("Tab")
        page.wait_for_function(f"() => document.querySelector('[data-field=performance_deadline] input').value === '{want}'")
    box = page.locator('[data-field="performance_deadline"] input')
    box.fill("过几天再说")
    box.press("Tab")
    page.locator("#review-msg.error").filter(has_text="无法把").wait_for()
    # the dialog counts exactly what the page lists
    listed = page.locator("#open-list li").count()
    same = [p for p in doc["problems"] if p.split(":")[0].strip() in doc["missing"]]  # listed once, as missing
    assert listed == len(doc["missing"]) + len(doc["problems"]) - len(same) + len(doc["warnings"])
    page.click("#approve")
    dialog = page.locator("#approve-dialog")
    dialog.wait_for()
    assert f"仍有以下 {listed} 项" in page.locator("#approve-title").inner_text()
    assert page.locator("#approve-list li").count() == listed
    page.screenshot(path=str(SHOTS / "review-approve-dialog.png"))
    page.click("#approve-cancel")
    assert page.errors == [] or all("422" in e for e in page.errors)  # type: ignore[attr-defined]


def test_the_document_page_by_page_beside_the_fields_and_a_candidate_inserted(stack: dict[str, Any]) -> None:
    if shutil.which("soffice") is None or shutil.which("pdftoppm") is None:
        pytest.fail("LibreOffice and poppler-utils are needed (scripts/setup.sh --dev installs them)")
    _ensure_draft(stack)
    page = _page(stack, "med_a", stack["dialogue"])
    manner = page.locator('[data-field="performance_manner"] input, [data-field="performance_manner"] textarea').first
    manner.wait_for()
    cands = page.locator("#candidate-list li .insert")
    assert cands.count()  # (each kind inserted and taken: test_the_drafters_amounts_dates_and_obligations...)
    manner.fill("")
    manner.focus()
    value = page.locator("#candidate-list li").first.get_attribute("data-kind")
    cands.first.click()
    page.locator("#review-msg").filter(has_text="已保存").wait_for()
    assert value is not None
    assert page.locator('[data-field="performance_manner"] input, [data-field="performance_manner"] textarea').first.input_value()
    page.click("#tab-document")
    page.locator("#doc-pages img").first.wait_for(timeout=180_000)
    page.wait_for_function("() => [...document.querySelectorAll('#doc-pages img')].every(i => i.complete && i.naturalWidth > 300)",
                           timeout=60_000)
    assert "共" in page.locator("#pages-msg").inner_text()
    page.screenshot(path=str(SHOTS / "review-document-pages.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_drafters_amounts_dates_and_obligations_go_in_with_one_click(stack: dict[str, Any]) -> None:
    """The candidates the drafter found are listed beside the fields, each with its evidence one
    click away: an amount is inserted at the caret of the field last edited, a date typed into
    the deadline the same way (read as people write it), an obligation the rules left out is
    taken into the terms with 采用."""
    from playwright.sync_api import expect

    with closing(_api(stack)) as c:
        hid = _new_hearing(c, "（2026）城人调字第15号")
        for label, role, name in (("S1", "mediator", "王调解员"), ("S2", "applicant", "张三"), ("S3", "respondent", "李四")):
            assert c.put(f"/api/hearings/{hid}/speakers/{label}", json={"role": role, "name": name}).status_code == 200
        assert c.post(f"/api/hearings/{hid}/record").status_code == 200
        assert c.post(f"/api/hearings/{hid}/stop").status_code == 200
        assert c.post(f"/api/hearings/{hid}/documents", json={}).status_code == 201
        doc = c.get(f"/api/hearings/{hid}/documents").json()[0]
    found = {(x["kind"], x["value"]): x for x in doc["candidates"]}
    amount = next(x for x in doc["candidates"] if x["kind"] == "amount")
    date = next(x for x in doc["candidates"] if x["kind"] == "date")
    left_out = next(x for x in doc["candidates"] if x["kind"] == "obligation" and x["status"] != "used")
    page = _page(stack, "med_a", hid)
    page.locator("#candidate-list li").first.wait_for()
    kinds = page.eval_on_selector_all("#candidate-list li", "ns => ns.map(n => n.dataset.kind)")
    assert {"amount", "date", "obligation", "person"} <= set(kinds), kinds
    assert len(kinds) == len(found)  # each value once, however often it was said
    assert "(p" not in page.locator("#candidate-list").inner_text()  # no drafting ids for people to read

    def cand(x: dict[str, Any]) -> Any:
        return page.locator(f'#candidate-list li[data-kind="{x["kind"]}"]', has_text=x["value"]).first

    def field(name: str) -> Any:
        return page.locator(f'[data-field="{name}"] input, [data-field="{name}"] textarea').first

    def saved(name: str) -> Any:
        with closing(_api(stack)) as c:
            return c.get(f"/api/hearings/{hid}/documents").json()[0]["fields"][name]["value"]

    # the evidence of a candidate plays where it was said
    cand(amount).locator("a.evidence").click()
    page.wait_for_function("() => { const p = document.getElementById('player'); return p.duration > 0 && p.currentTime > 0; }")
    at, length = page.evaluate("(() => { const p = document.getElementById('player'); return [p.currentTime, p.duration]; })()")
    # (this engine's recording is shorter than the dialogue: the player stops at its end)
    assert abs(at - min(amount["evidence"]["start"] - 0.2, length)) < 0.5, (at, length, amount["evidence"])
    page.keyboard.press("Escape")
    # an amount into the manner of performance, at the caret, in one click
    manner = field("performance_manner")
    manner.fill("一次性支付")
    manner.focus()
    manner.press("End")
    cand(amount).locator(".insert").click()
    expect(field("performance_manner")).to_have_value("一次性支付" + amount["value"])
    page.locator("#review-msg").filter(has_text="已保存").wait_for()
    assert saved("performance_manner") == "一次性支付" + amount["value"]
    # a date into the performance deadline: 2026年12月31日 as said, kept as a date
    deadline = field("performance_deadline")
    deadline.fill("")
    deadline.focus()
    cand(date).locator(".insert").click()
    page.wait_for_function("() => document.querySelector('[data-field=performance_deadline] input').value === '2026-12-31'")
    assert saved("performance_deadline") == "2026-12-31"
    # an obligation the rules left out: 采用 takes it into the terms
    before = len(saved("terms"))
    cand(left_out).locator(".take").click()
    page.locator("#review-msg").filter(has_text="已保存").wait_for()
    terms = saved("terms")
    assert len(terms) == before + 1 and left_out["value"].split("：", 1)[-1] in terms[-1]
    page.locator("#candidates").screenshot(path=str(SHOTS / "review-candidates.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_word_being_played_is_followed_unless_told_not_to(stack: dict[str, Any]) -> None:
    page = _page(stack, "med_a", stack["recorded"])
    page.locator(".tseg").first.wait_for()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    turns = _turns(stack, stack["recorded"])
    # seen: inside the transcript column's scrolled view (and the window)
    in_view = """() => { const n = document.querySelector('.w.now'); if (!n) return null;
      const r = n.getBoundingClientRect(), c = document.getElementById('transcript-col').getBoundingClientRect();
      return r.top >= Math.max(0, c.top) && r.bottom <= Math.min(c.bottom, window.innerHeight); }"""
    # 跟随播放 on: a word far down the hearing is brought into view when it is played
    last = turns[-1]["tokens"][len(turns[-1]["tokens"]) // 2]
    page.evaluate(f"() => {{ const p = document.getElementById('player'); p.pause(); p.currentTime = {last['s'] + 0.01}; }}")
    page.wait_for_function(f"() => {{ const n = document.querySelector('.w.now'); return n && n.closest('.tseg').dataset.turn === '{turns[-1]['id']}'; }}")
    page.wait_for_function(in_view)
    # off: the highlight moves, the view stays where the reviewer is reading
    page.uncheck("#follow")
    first = turns[0]["tokens"][1]
    page.evaluate(f"() => {{ document.getElementById('player').currentTime = {first['s'] + 0.01}; }}")
    page.wait_for_function(f"() => {{ const n = document.querySelector('.w.now'); return n && n.closest('.tseg').dataset.turn === '{turns[0]['id']}'; }}")
    page.wait_for_timeout(300)
    assert page.evaluate(in_view) is False
    page.check("#follow")
    assert page.errors == []  # type: ignore[attr-defined]
