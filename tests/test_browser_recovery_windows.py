"""A second window, Pause and 结束 while the desk holds audio the server does not have (issue 17),
in real headless Chromium with a fake microphone, against a real server process on loopback
reached through a relay the test can cut (tests/test_browser_recovery.py has the page reload,
the network drop and the server restart; these reuse its server, relay and measurements).

- A second tab opened on a recording hearing takes the recording over (the latest window to
  start is the audio source, docs/events.md): the old tab says 录音已转到另一个窗口 and stops its
  microphone, and the archive holds the room once, across the hand-over: the new tab keeps only
  what it captured after the old tab's last frame arrived.
- Pause pressed while the connection is down: nothing is captured from the click, the audio
  before it still reaches the archive after the reconnect, then the server pauses; 继续 records
  on. The archive has exactly the pause missing.
- 结束 pressed while the connection is down: the page says how much it still holds and to keep
  the page open, sends it when the connection is back, then the hearing stops: the archive ends
  where 结束 was pressed, nothing missing before it.

What the fake microphone played is found in the archive block by block (see _align there); a
tab's file time is the time since its first frame, so the two tabs' captures are compared on the
wall clock (performance.timeOrigin, shared by the tabs of one browser).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from server_support import make_settings, seed_accounts
from test_browser_recovery import (  # noqa: F401 - the fixtures are used by name
    S,
    SHOTS,
    SPEECH_S,
    Relay,
    ServerProcess,
    _align,
    _archive,
    _clock,
    _closable,
    _desk,
    _finish,
    _lost,
    _pieces,
    _report,
    _wait_clock,
    _wait_first_frame,
    browser,
    speech,
)

pytestmark = [pytest.mark.browser, pytest.mark.models, pytest.mark.slow, pytest.mark.walkthrough]

# a click's moment on the page's own clock (the test's probe: the handler's time, not Playwright's)
_CLICKS = ("document.addEventListener('click', (e) => { const b = e.target.closest('button');"
           " if (b) (window.clicks = window.clicks || []).push([b.id, performance.now(), cap.next || 0]); }, true)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, model_store: Any) -> Iterator[dict[str, Any]]:
    """One server (the models load once) and its relay for the module; each test its hearing."""
    data = tmp_path_factory.mktemp("server")
    settings = make_settings(data, model_dir=model_store.root)
    seed_accounts(settings)
    server = ServerProcess(data, model_store.root)
    relay = Relay(server.port)
    try:
        yield {"server": server, "relay": relay, "settings": settings, "url": relay.url}
    finally:
        relay.close()
        server.close()


# the loudest sample the page's microphone gave it, per second from now (a test probe: desk.js
# is a classic script, so its global onFrame can be wrapped)
_LEVELS = ("(() => { window.__levels = []; const t0 = performance.now(), orig = onFrame;"
           " onFrame = (pcm) => { const i = Math.floor((performance.now() - t0) / 1000);"
           " let m = 0; for (let k = 0; k < pcm.length; k += 4) m = Math.max(m, Math.abs(pcm[k]));"
           " while (window.__levels.length <= i) window.__levels.push(0);"
           " window.__levels[i] = Math.max(window.__levels[i], Math.round(m / 327.68) / 100); orig(pcm); }; })()")


def _first_wall(page: Any) -> float:
    """When the page's microphone started, on the wall clock (the first frame holds 0.1 s). The
    page may say 录音中 before its first frame: wait for it (read too early it is NaN, and a test
    that waited "until 12 s after the start" did not wait at all)."""
    _wait_first_frame(page)
    value = float(page.evaluate("(performance.timeOrigin + cap.firstFrameAt) / 1000")) - 0.1
    assert value == value, "the page's first frame has no time"
    return value


def _click_at(page: Any, button: str) -> float:
    """The last click on ``button``, on the wall clock."""
    return float(page.evaluate(f"(performance.timeOrigin + window.clicks.filter((c) => c[0] === {button!r})"
                               ".at(-1)[1]) / 1000"))


def _captured_at_click(page: Any, button: str) -> float:
    """Seconds of audio the page had captured when ``button`` was last clicked (its own count:
    under load a browser's capture can fall behind the wall clock, so "click time - first frame"
    overstates what there was to keep)."""
    return float(page.evaluate(f"window.clicks.filter((c) => c[0] === {button!r}).at(-1)[2]")) / S


def _server_status(ctx: Any, stack: dict[str, Any], hid: str) -> str:
    """The hearing's status asked of the server directly (the relay may be cut)."""
    return str(ctx.request.get(f"{stack['server'].url}/api/hearings/{hid}").json()["status"])


def _offline(stack: dict[str, Any], page: Any) -> None:
    stack["relay"].drop()
    page.wait_for_selector("#conn[data-conn=lost]", timeout=15_000)


def _online(stack: dict[str, Any], page: Any) -> None:
    stack["relay"].restore()
    page.wait_for_selector("#conn[hidden]", state="attached", timeout=60_000)  # everything resent


def test_a_second_tab_takes_the_recording_over_and_the_room_is_archived_once(
    stack: dict[str, Any], browser: Any, speech: tuple[Path, np.ndarray]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, old, hid = _desk(browser, stack["url"], "（2026）城人调字第41号")
    errors: list[str] = []
    old.on("pageerror", lambda e: errors.append(str(e)))
    old.click("#btn-record")
    old.wait_for_selector("#status[data-status=recording]")
    _wait_clock(old, 8)
    first_old = _first_wall(old)

    new = ctx.new_page()
    new.on("pageerror", lambda e: errors.append(str(e)))
    new.goto(f"{stack['url']}/hearings/{hid}")
    new.wait_for_selector("#status[data-status=recording]", timeout=30_000)
    # the old tab: the recording moved, its microphone is closed, it never says 录音中
    old.wait_for_selector("#status[data-status=elsewhere]", timeout=15_000)
    assert old.locator("#status").inner_text() == "另一个窗口正在录音"
    assert old.locator("#conn").inner_text().startswith("录音已转到另一个窗口")
    assert old.locator("#btn-here").is_visible() and old.locator("#btn-pause").is_disabled()
    assert old.locator("#btn-record").is_disabled()  # one way back: 在此窗口录音
    assert old.evaluate("cap.capturing === false && state.audio === null && cap.frames.length === 0")
    first_new = _first_wall(new)
    held = new.evaluate("cap.handoverDropped || 0")
    # the old tab follows the hearing's clock (the new tab's audio), its transcript too
    at = _clock(old)
    time.sleep(3)
    assert _clock(old) >= at + 2, (at, _clock(old))
    old.screenshot(path=str(SHOTS / "desk-recording-moved.png"))
    new.screenshot(path=str(SHOTS / "desk-second-tab-recording.png"))

    # the new tab's microphone plays the file from its start: let it run out, then 结束 there
    time.sleep(max(0.0, first_new + SPEECH_S + 1 - time.time()))
    stopped_at = _finish(new, "desk-final-transcript-after-second-tab.png", progress_shot=None)
    stop_wall = time.time() - (time.monotonic() - stopped_at)
    old.wait_for_selector("#status[data-status=stopped]", timeout=60_000)  # the old tab follows
    _closable(stack, hid, ctx)

    archive, _folder = _archive(stack, hid)
    runs = _pieces(_align(archive, speech[1]))
    restarts = [i for i, (p, r) in enumerate(zip(runs, runs[1:]), 1) if r["offset"] - p["offset"] < -3]
    assert len(restarts) == 1, runs  # the old tab's capture, then the new tab's from its file's start
    first, second = runs[: restarts[0]], runs[restarts[0] :]
    assert all(_lost(part)[0] <= 0.1 and _lost(part)[1] <= 0.1 for part in (first, second)), runs
    # the hand-over, on the wall clock: where the old tab's audio ends in the archive (the new
    # tab's audio starts at the sample the server reported to it) and which moments the two
    # captures hold there
    boundary = new.evaluate("cap.base") / S
    old_end = first_old + boundary + first[-1]["offset"]
    new_start = first_new + boundary + second[0]["offset"]
    overlap = old_end - new_start  # > 0: the room twice; < 0: a moment no tab kept
    played = (old_end - first_old) + (stop_wall - new_start)
    _report("second tab", runs, len(archive) / S, f"hand-over at {boundary:.2f} s: overlap {overlap:+.3f} s "
            f"(the new tab dropped {held:.2f} s it had captured before the old tab's last frame); "
            f"played {played:.2f} s, not archived {played - len(archive) / S:.2f} s")
    assert abs(overlap) <= 0.2, overlap
    assert abs(played - len(archive) / S) <= 1.0
    assert errors == []
    ctx.close()


def test_pause_while_the_connection_is_down_keeps_what_came_before_and_records_nothing_in_it(
    stack: dict[str, Any], browser: Any, speech: tuple[Path, np.ndarray]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, page, hid = _desk(browser, stack["url"], "（2026）城人调字第42号")
    page.evaluate(_CLICKS)
    page.click("#btn-record")
    page.wait_for_selector("#status[data-status=recording]")
    _wait_clock(page, 4)
    first = _first_wall(page)
    _offline(stack, page)
    time.sleep(1)
    page.click("#btn-pause")
    # off the record at once, though the server cannot hear it yet: the page says what it holds
    page.wait_for_selector("#status[data-status=paused]")
    assert re.fullmatch(r"已暂停：暂停前的 \d+ 秒录音在连接恢复后补传", page.locator("#engine-msg").inner_text())
    assert re.search(r"连接中断，正在重连 — 已缓存 \d+ 秒录音", page.locator("#conn").inner_text())
    page.screenshot(path=str(SHOTS / "desk-paused-while-offline.png"))
    assert _server_status(ctx, stack, hid) == "recording"  # the pause waits for the audio before it
    time.sleep(3)
    _online(stack, page)
    deadline = time.monotonic() + 30
    while _server_status(ctx, stack, hid) != "paused":
        assert time.monotonic() < deadline, "the pause never reached the server"
        time.sleep(0.3)
    assert page.locator("#engine-msg").inner_text() == ""
    time.sleep(1.5)
    page.click("#btn-record")  # 继续: records on after the pause
    page.wait_for_selector("#status[data-status=recording]")
    _wait_clock(page, _clock(page) + 3)
    _finish(page, "desk-final-transcript-after-offline-pause.png", progress_shot=None)
    _closable(stack, hid, ctx)

    pause_at, resume_at = _click_at(page, "btn-pause"), _click_at(page, "btn-record")
    archive, folder = _archive(stack, hid)
    runs = _pieces(_align(archive, speech[1]))
    jumps = [r["offset"] - p["offset"] for p, r in zip(runs, runs[1:])]
    big = [i for i, j in enumerate(jumps) if abs(j) > 0.1]
    assert len(big) == 1, runs  # one gap: the pause
    before, after = runs[: big[0] + 1], runs[big[0] + 1 :]
    assert max(_lost(before)) <= 0.1 and max(_lost(after)) <= 0.1, runs
    skipped = jumps[big[0]]
    paused = resume_at - pause_at
    _report("offline pause", runs, len(archive) / S, f"pause {paused:.2f} s on the page, the archive skips "
            f"{skipped:.2f} s of the file")
    # nothing of the pause recorded, nothing outside it lost (a frame is 0.1 s)
    assert abs(skipped - paused) <= 0.2, (skipped, paused, runs)
    assert runs[0]["offset"] <= 0.5, runs  # from the start of the file
    # the audio before the pause is all there: the first part ends where Pause was pressed (what
    # the page had captured then; its wall-clock time since the first frame is reported beside it)
    pause_file_time = _captured_at_click(page, "btn-pause")
    assert before[-1]["f_end"] >= pause_file_time - 0.6, (pause_file_time, pause_at - first, runs)
    assert before[-1]["f_end"] >= pause_at - first - 1.0, (pause_file_time, pause_at - first, runs)  # the 1 s
    states = [e.data["state"] for e in folder.events() if e.type == "state"]
    assert "paused" in states and states.index("paused") < len(states) - 1
    assert after
    ctx.close()


def test_ending_while_the_connection_is_down_archives_everything_before_the_click(
    stack: dict[str, Any], browser: Any, speech: tuple[Path, np.ndarray]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, page, hid = _desk(browser, stack["url"], "（2026）城人调字第43号")
    page.evaluate(_CLICKS)
    page.click("#btn-record")
    page.wait_for_selector("#status[data-status=recording]")
    _wait_clock(page, 4)
    first = _first_wall(page)
    _offline(stack, page)
    time.sleep(2)
    page.click("#btn-stop")
    # the hearing cannot end yet: the page says what it still holds, and not to close it
    page.wait_for_selector("#status[data-status=stopping]")
    assert page.locator("#status").inner_text() == "正在结束"
    assert re.fullmatch(r"尚有 \d+ 秒录音未上传：连接恢复后自动补传并结束，请勿关闭本页",
                        page.locator("#engine-msg").inner_text())
    assert page.locator("#btn-record").is_disabled() and page.locator("#btn-stop").is_disabled()
    page.screenshot(path=str(SHOTS / "desk-ending-while-offline.png"))
    assert _server_status(ctx, stack, hid) == "recording"
    time.sleep(3)
    stack["relay"].restore()
    _finish(page, "desk-final-transcript-after-offline-end.png", click=False, progress_shot=None)
    _closable(stack, hid, ctx)

    stop_at = _click_at(page, "btn-stop")
    archive, _folder = _archive(stack, hid)
    runs = _pieces(_align(archive, speech[1]))
    lost, repeated = _lost(runs)
    played = stop_at - first
    _report("offline end", runs, len(archive) / S, f"played until 结束 {played:.2f} s, archived "
            f"{len(archive) / S:.2f} s")
    assert lost <= 0.1 and repeated <= 0.1, runs
    assert runs[0]["offset"] <= 0.5, runs
    # everything captured before the click, nothing after it (a frame is 0.1 s; the silence at the
    # end of the archive is not aligned, so the length is compared, not the last run); against the
    # wall clock within the 1 s (a loaded browser's capture can fall behind it)
    captured = _captured_at_click(page, "btn-stop")
    assert abs(captured - len(archive) / S) <= 0.2, (captured, played, len(archive) / S)
    assert abs(played - len(archive) / S) <= 1.0, (captured, played, len(archive) / S)
    ctx.close()


def test_a_tab_cut_off_while_a_second_tab_took_over_does_not_take_the_recording_back(
    stack: dict[str, Any], browser: Any, speech: tuple[Path, np.ndarray]
) -> None:
    """The first tab loses its network; meanwhile the hearing is opened in a second tab (on a
    path that works: straight to the server, not through the cut relay), which records. When the
    first tab's network comes back, its reconnect must not take the recording back (it would
    stop the tab that records, and its own buffer belongs before audio already archived): it
    says another window records, and offers 在此窗口录音."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, old, hid = _desk(browser, stack["url"], "（2026）城人调字第44号")
    old.click("#btn-record")
    old.wait_for_selector("#status[data-status=recording]")
    _wait_clock(old, 4)
    cut = time.time()
    _offline(stack, old)
    new = ctx.new_page()
    new.goto(f"{stack['server'].url}/hearings/{hid}")  # the cookie is the same host's
    new.wait_for_selector("#status[data-status=recording]", timeout=30_000)
    first_new = _first_wall(new)
    new.evaluate(_LEVELS)
    time.sleep(2)
    stack["relay"].restore()
    # the old tab reconnects and hears that another window records; the new tab records on
    old.wait_for_selector("#status[data-status=elsewhere]", timeout=30_000)
    assert old.evaluate("cap.capturing === false && state.audio === null")
    # what the old tab captured between the cut and the new tab's start reached no one: it says so
    said = re.search(r"([0-9.]+) 秒录音未能保留", old.locator("#engine-msg").inner_text())
    assert said and abs(float(said.group(1)) - (first_new - cut)) <= 1.5, (said, first_new - cut)
    time.sleep(2)
    assert new.locator("#status").get_attribute("data-status") == "recording"
    assert new.locator("#conn").is_hidden()
    old.screenshot(path=str(SHOTS / "desk-reconnected-elsewhere.png"))
    time.sleep(max(0.0, first_new + 12 - time.time()))
    _finish(new, None, progress_shot=None)
    _closable(stack, hid, ctx)

    archive, _folder = _archive(stack, hid)
    runs = _pieces(_align(archive, speech[1]))
    # on a failure, tell "not archived" from "archived, but not the speech": the archive's loudness
    # per second, and the loudness of what the new tab's microphone gave it, per second
    why = {"runs": runs, "archive_s": round(len(archive) / S, 1),
           "archive_peak_per_s": [round(float(np.abs(archive[i : i + S]).max()), 2) for i in range(0, len(archive), S)],
           "new_tab_mic_peak_per_s": new.evaluate("window.__levels")}
    restarts = [i for i, (p, r) in enumerate(zip(runs, runs[1:]), 1) if r["offset"] - p["offset"] < -3]
    assert len(restarts) == 1, why  # the old tab until it was cut off, then the new tab only
    second = runs[restarts[0] :]
    assert max(_lost(second)) <= 0.1, why  # the new tab's audio whole, through the old tab's return
    assert second[0]["f_start"] <= 1.0 and second[-1]["f_end"] >= 11, why  # (the first block may be quiet)
    _report("cut off, then a second tab", runs, len(archive) / S)
    ctx.close()
