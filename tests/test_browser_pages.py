"""The pages in real headless Chromium without speech models (the live engine is the in-memory
one with a real dialogue): naming a speaker from the desk, the English UI, the review page's
evidence playing the audio span, a transcript correction kept beside the original, adding a
term, and the mediator's view without approve buttons. Screenshots in build/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import PASSWORD, ServerThread, login, make_settings, seed_accounts
from test_server_review import DialogueLive, _hearing

from server import create_app

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
pytestmark = [pytest.mark.browser]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


class GapLive(DialogueLive):
    """The dialogue with, at its end, a stretch of speech no decode recognised."""

    def transcript(self, sid: str) -> dict[str, Any] | None:
        data = super().transcript(sid)
        assert data is not None
        t = data["duration"]
        data["segments"].append({"start": t, "end": t + 6.5, "speaker": "S2", "text": "【未能识别】",
                                 "words": [], "unrecognised": True})
        data["duration"] = t + 7.0
        return data


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("pages")
    settings = make_settings(root, soffice_binary="no-soffice-here", server_delivery_worker=False)
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=GapLive(root)))
    with closing(httpx.Client(base_url=server.url, timeout=60)) as c:
        login(c, "med_a")
        hid = _hearing(c)
        c.post(f"/api/hearings/{hid}/documents", json={})
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            yield {"url": server.url, "hearing": hid, "browser": browser}
            browser.close()
    finally:
        server.close()


def _page(stack: dict[str, Any], user: str, lang: str = "zh") -> Any:
    ctx = stack["browser"].new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{stack['url']}/login?lang={lang}")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(stack["url"] + "/")
    return page


def test_desk_names_a_speaker_and_shows_colours_in_english(stack: dict[str, Any]) -> None:
    page = _page(stack, "med_a", "en")
    page.goto(f"{stack['url']}/hearings/{stack['hearing']}")
    page.wait_for_selector(".seg.final")
    assert "Recording notice and consent" in page.content()
    chip = page.locator(".seg.final .spk").first
    assert chip.get_attribute("data-speaker") == "S1"
    assert "Mediator" in chip.inner_text()  # named through the API before the page opened
    colours = {page.locator(".seg.final .spk").nth(i).evaluate("n => getComputedStyle(n).color") for i in range(3)}
    assert len(colours) == 3  # three speakers, three colours
    page.locator('.seg.final .spk[data-speaker="S3"]').first.click()
    page.select_option("#speaker-role", "respondent")
    page.fill("#speaker-name", "李四（被申请人）")
    page.click("#speaker-save")
    page.locator('.speaker-chip[data-speaker="S3"]', has_text="李四（被申请人）").wait_for()
    page.screenshot(path=str(SHOTS / "desk-english-speakers.png"))
    with closing(httpx.Client(base_url=stack["url"])) as c:
        login(c, "med_a")
        assert c.get(f"/api/hearings/{stack['hearing']}").json()["speakers"]["S3"]["name"] == "李四（被申请人）"
    assert page.errors == []  # type: ignore[attr-defined]


def test_review_evidence_plays_audio_and_corrections_keep_the_original(stack: dict[str, Any]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _page(stack, "med_a")
    page.goto(f"{stack['url']}/hearings/{stack['hearing']}/review")
    page.wait_for_selector(".field[data-field=terms]")
    assert page.locator("#approve").count() == 0  # a mediator has no approve button
    assert page.locator(".field.missing").count() > 0
    # why a field is missing is said in Chinese on the Chinese page (no machine English)
    notes = page.locator(".evidence.muted").all_inner_texts()
    assert notes and all(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in notes), notes
    assert not any("not in the session file" in n for n in notes)
    english = _page(stack, "med_a", "en")
    english.goto(f"{stack['url']}/hearings/{stack['hearing']}/review")
    english.wait_for_selector(".field[data-field=terms]")
    notes_en = english.locator(".evidence.muted").all_inner_texts()
    assert len(notes_en) == len(notes) and notes_en != notes
    assert any("session file" in n or "said" in n for n in notes_en), notes_en
    # clicking a term's evidence plays that span: the player holds the whole recording (served
    # in byte ranges) and seeks to the span's start, 0.2 s early
    src = page.locator("#player").get_attribute("src")
    assert src and src.endswith("/audio")
    page.locator(".field[data-field=terms] .evidence button").first.click()
    # the term was said at 13.5 s (this engine's recording is shorter: the player stops at its end)
    page.wait_for_function("() => { const p = document.getElementById('player'); return p.duration > 0 && p.currentTime > 0; }")
    at, length = page.evaluate("(() => { const p = document.getElementById('player'); return [p.currentTime, p.duration]; })()")
    assert abs(at - min(13.3, length)) < 0.5
    # add a term
    before = page.locator(".field[data-field=terms] textarea").count()
    page.fill("#new-term", "双方互不追究其他责任。")
    page.click("#add-term")
    added = page.locator(f'[data-list="terms"] [data-field="terms.{before}"] textarea')
    added.wait_for()
    assert added.input_value() == "双方互不追究其他责任。"
    # correct a transcript line: the original stays beside it
    page.click('.tseg[data-turn="t1"] .edit-line')
    line = page.locator('.ttext[data-turn="t1"]')
    line.fill("李四家翻修房子的时候把我家院墙推倒了两段，我要求他赔偿修墙的钱。")
    line.press("Enter")  # Enter saves
    page.locator('.tseg[data-turn="t1"] .orig').wait_for()
    assert "推倒了一段" in page.locator('.tseg[data-turn="t1"] .orig').inner_text()
    page.screenshot(path=str(SHOTS / "review-evidence.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def test_unrecognised_speech_is_marked_with_a_play_button_on_desk_and_review(stack: dict[str, Any]) -> None:
    page = _page(stack, "med_a")
    page.goto(f"{stack['url']}/hearings/{stack['hearing']}")
    lost = page.locator(".seg.final.unrecognised")
    lost.wait_for()
    assert lost.count() == 1 and "【未能识别】" in lost.inner_text() and "请回放" in lost.inner_text()
    colour = lost.locator(".text").evaluate("n => getComputedStyle(n).color")
    normal = page.locator(".seg.final:not(.unrecognised) .text").first.evaluate("n => getComputedStyle(n).color")
    assert colour != normal  # shown distinctly
    with page.expect_response(lambda r: "/audio?start=" in r.url) as resp:
        lost.locator("button.play").click()
    assert resp.value.status in (200, 206) and resp.value.headers["content-type"] == "audio/wav"
    assert "start=26.80" in resp.value.url and "end=33.70" in resp.value.url  # its own span, 0.2 s either side
    page.screenshot(path=str(SHOTS / "desk-unrecognised.png"))
    review = _page(stack, "med_a")
    review.goto(f"{stack['url']}/hearings/{stack['hearing']}/review")
    row = review.locator(".tseg.unrecognised")
    row.wait_for()
    assert "请回放" in row.locator(".lost-note").inner_text()
    row.locator("button.play-lost").click()  # its own span, from 0.2 s before it
    review.wait_for_function("() => { const p = document.getElementById('player'); return p.duration > 0 && p.currentTime > 0; }")
    at, length = review.evaluate("(() => { const p = document.getElementById('player'); return [p.currentTime, p.duration]; })()")
    assert abs(at - min(26.6, length)) < 0.5
    assert page.errors == [] and review.errors == []  # type: ignore[attr-defined]
