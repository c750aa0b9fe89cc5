"""Behaviour of accounts, logins, CSRF, tokens, audit, hearings and consent on a real server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from server_support import OFFICE_A, OFFICE_B, PASSWORD, MemoryLive, ServerThread, login, make_settings, seed_accounts
from sqlalchemy import select

from scribe.accounts.models import AuditEvent, User
from scribe.errors import AccountError
from scribe.storage import Database
from server import create_app


@pytest.fixture()
def srv(tmp_path) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    seeded = seed_accounts(settings)
    live = MemoryLive(tmp_path)
    server = ServerThread(create_app(settings, live=live))
    try:
        yield {"url": server.url, "tokens": seeded.tokens, "settings": settings, "live": live}
    finally:
        server.close()


def c_(srv: dict[str, Any]) -> httpx.Client:
    return httpx.Client(base_url=srv["url"], timeout=30)


def audit_rows(srv: dict[str, Any]) -> list[AuditEvent]:
    db = Database(srv["settings"].db_url)
    try:
        with db.transaction() as tx:
            return list(tx.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    finally:
        db.dispose()


def test_health_needs_no_login_and_reports_the_database(srv: dict[str, Any]) -> None:
    r = httpx.get(srv["url"] + "/health")
    assert r.status_code == 200
    assert r.json()["database"] == "ok"


def test_passwords_are_stored_as_argon2id_and_never_in_clear(srv: dict[str, Any]) -> None:
    db = Database(srv["settings"].db_url)
    with db.transaction() as tx:
        user = tx.scalar(select(User).where(User.username == "med_a"))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
    db.dispose()


def test_login_sets_an_httponly_samesite_cookie_and_wrong_password_is_401(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        r = c.post("/api/auth/login", json={"username": "med_a", "password": "wrong password!"})
        assert r.status_code == 401
        assert "scribe_session" not in c.cookies
        r = c.post("/api/auth/login", json={"username": "med_a", "password": PASSWORD})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert r.json()["office"] == OFFICE_A and r.json()["role"] == "mediator"
    actions = [e.action for e in audit_rows(srv)]
    assert actions.count("login_failed") == 1 and "login" in actions


def test_secure_cookie_when_served_over_https(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, public_url="https://scribe.example.org")
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=MemoryLive(tmp_path)))
    try:
        r = httpx.post(server.url + "/api/auth/login", json={"username": "med_a", "password": PASSWORD})
        assert "secure" in r.headers["set-cookie"].lower()
    finally:
        server.close()


def test_repeated_wrong_passwords_are_throttled(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        codes = [c.post("/api/auth/login", json={"username": "rev_a", "password": f"guess number {i}"}).status_code for i in range(6)]
        assert codes[:5] == [401] * 5
        assert codes[5] == 429
        # even the right password waits now: the guesser cannot tell it was right
        r = c.post("/api/auth/login", json={"username": "rev_a", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_unsafe_requests_of_a_cookie_login_need_the_csrf_token(srv: dict[str, Any]) -> None:
    body = {"kind": "consultation", "parties": [{"role": "visitor", "name": "周五"}]}
    with closing(c_(srv)) as c:
        token = login(c, "med_a")
        del c.headers["X-CSRF-Token"]
        assert c.post("/api/hearings", json=body).status_code == 403
        assert c.post("/api/hearings", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert c.post("/api/hearings", json=body, headers={"X-CSRF-Token": token}).status_code == 201
        # reading needs no token
        assert c.get("/api/hearings").status_code == 200


def test_logout_ends_the_login(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        login(c, "med_a")
        cookie = c.cookies["scribe_session"]
        assert c.post("/api/auth/logout").status_code == 204
    r = httpx.get(srv["url"] + "/api/auth/me", cookies={"scribe_session": cookie})
    assert r.status_code == 401


def test_api_tokens_are_scoped_revocable_and_shown_once(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as admin:
        login(admin, "admin")
        r = admin.post("/api/tokens", json={"name": "case system", "scopes": ["sessions:read"], "office": OFFICE_A})
        assert r.status_code == 201
        secret, token_id = r.json()["token"], r.json()["id"]
        assert secret.startswith("scr_")
        listed = admin.get("/api/tokens").json()
        assert all("token" not in t for t in listed) and any(t["id"] == token_id for t in listed)
        bearer = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(srv["url"] + "/api/hearings", headers=bearer).status_code == 200
        # scoped: read only
        r = httpx.post(srv["url"] + "/api/hearings", headers=bearer, json={"kind": "consultation", "parties": [{"role": "visitor", "name": "x"}]})
        assert r.status_code == 403
        # tokens cannot be admins
        assert admin.post("/api/tokens", json={"name": "x", "scopes": ["admin"], "office": "*"}).status_code == 400
        assert admin.delete(f"/api/tokens/{token_id}").status_code == 204
    assert httpx.get(srv["url"] + "/api/hearings", headers=bearer).status_code == 401


def _create(c: httpx.Client, **kw: Any) -> dict[str, Any]:
    body = {"kind": "mediation", "case_number": "（2026）城人调字第3号", "category": "邻里",
            "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}], "hotwords": ["围墙", "赔偿"]}  # fmt: skip
    body.update(kw)
    r = c.post("/api/hearings", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_names_and_places_typed_for_a_hearing_reach_the_recogniser(srv: dict[str, Any]) -> None:
    """What the live engine is opened with: the typed hotwords, every party's name (also a
    party added later, and after the hotword list was edited), a speaker's name and the place."""
    with closing(c_(srv)) as c:
        login(c, "med_a")
        h = _create(c, place="城关镇司法所调解室")
        parties = [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"},
                   {"role": "third_party", "name": "欧阳娜娜"}]
        assert c.patch(f"/api/hearings/{h['id']}", json={"parties": parties}).status_code == 200
        # an edit of the list replaces it: the party names typed at creation are not in it
        assert c.patch(f"/api/hearings/{h['id']}", json={"hotwords": ["围墙", "寇庄村"]}).status_code == 200
        r = c.put(f"/api/hearings/{h['id']}/speakers/说话人1", json={"role": "mediator", "name": "王芳"})
        assert r.status_code == 200, r.text
        for i in range(3):
            c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": i, "consented": True, "notice_read": True})
        assert c.post(f"/api/hearings/{h['id']}/record").status_code == 200
        start = srv["live"].starts[-1]
        for word in ("围墙", "寇庄村", "张三", "李四", "欧阳娜娜", "王芳", "城关镇司法所调解室"):
            assert word in start.hotwords, (word, start.hotwords)
        assert len(set(start.hotwords)) == len(start.hotwords)
        # corrected while recording: the running session gets the new list
        parties[2]["name"] = "欧阳丽娜"
        assert c.patch(f"/api/hearings/{h['id']}", json={"parties": parties}).status_code == 200
        sent = srv["live"].hotwords["live-" + h["id"]]
        assert "欧阳丽娜" in sent and "张三" in sent and "寇庄村" in sent


def test_recording_is_refused_until_every_party_consented(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        login(c, "med_a")
        h = _create(c)
        assert h["hotwords"][:2] == ["张三", "李四"]  # party names become hotwords
        r = c.post(f"/api/hearings/{h['id']}/record")
        assert r.status_code == 409 and "张三" in r.json()["error"]
        # consent without the notice read is refused
        r = c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": False})
        assert r.status_code == 409
        assert c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": True}).status_code == 201
        assert c.post(f"/api/hearings/{h['id']}/record").status_code == 409  # 李四 still missing
        c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 1, "consented": False, "notice_read": True})
        assert c.post(f"/api/hearings/{h['id']}/record").status_code == 409  # 李四 refused
        c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 1, "consented": True, "notice_read": True})
        r = c.post(f"/api/hearings/{h['id']}/record")
        assert r.status_code == 200, r.text
        assert r.json()["websocket"].startswith("/")
        got = c.get(f"/api/hearings/{h['id']}").json()
        assert got["status"] == "recording" and got["all_consented"]
        by = {x["party_index"]: x for x in got["consents"]}
        assert by[1]["consented"] and by[1]["confirmed_by_name"] == "med_a" and by[1]["at"]
        assert c.post(f"/api/hearings/{h['id']}/pause").json()["hearing"]["status"] == "paused"
        assert c.post(f"/api/hearings/{h['id']}/record").json()["hearing"]["status"] == "recording"
        assert c.post(f"/api/hearings/{h['id']}/stop").json()["hearing"]["status"] == "stopped"
        assert c.post(f"/api/hearings/{h['id']}/record").status_code == 409  # ended


def test_search_by_case_number_party_date_category_and_status(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        login(c, "med_a")
        a = _create(c, case_number="（2026）城人调字第11号", hearing_date="2026-03-01")
        b = _create(c, case_number="（2026）城人调字第12号", category="合同",
                    parties=[{"role": "applicant", "name": "王五"}, {"role": "respondent", "name": "赵六"}], hearing_date="2026-05-01")  # fmt: skip
        ids = lambda r: {h["id"] for h in r.json()["items"]}  # noqa: E731
        assert ids(c.get("/api/hearings", params={"q": "第12号"})) == {b["id"]}
        assert ids(c.get("/api/hearings", params={"party": "张三"})) == {a["id"]}
        assert ids(c.get("/api/hearings", params={"q": "赵六"})) == {b["id"]}
        assert ids(c.get("/api/hearings", params={"category": "合同"})) == {b["id"]}
        assert ids(c.get("/api/hearings", params={"date_from": "2026-04-01", "date_to": "2026-06-01"})) == {b["id"]}
        assert ids(c.get("/api/hearings", params={"status": "created"})) >= {a["id"], b["id"]}
        assert ids(c.get("/api/hearings", params={"q": "%"})) == set()  # LIKE wildcards are literal
        # the list page shows the same search
        page = c.get("/", params={"q": "赵六"}, headers={"accept": "text/html"}).text
        assert "第12号" in page and "第11号" not in page
    with closing(c_(srv)) as other:
        login(other, "med_b")
        assert other.get("/api/hearings").json()["total"] == 0  # office B sees none of office A's


def test_unknown_category_is_refused_with_the_list(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        login(c, "med_a")
        r = c.post("/api/hearings", json={"kind": "mediation", "category": "外星人", "parties": [{"role": "applicant", "name": "甲"}]})
        assert r.status_code == 409 and "邻里" in r.json()["fix"]


def test_the_audit_log_records_view_change_consent_and_delete_without_personal_data(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        login(c, "med_a")
        h = _create(c)
        c.get(f"/api/hearings/{h['id']}")
        c.patch(f"/api/hearings/{h['id']}", json={"title": "围墙纠纷"})
        c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": True})
    with closing(c_(srv)) as admin:
        login(admin, "admin")
        assert admin.delete(f"/api/hearings/{h['id']}").status_code == 204
        events = admin.get("/api/audit", params={"object_id": h["id"]}).json()
    actions = [e["action"] for e in reversed(events)]
    assert actions == ["create", "view", "change", "consent", "delete"]
    assert events[0]["actor"].startswith("user:") and "admin" in events[0]["actor"]
    dumped = repr(events)
    assert "张三" not in dumped and "围墙" not in dumped  # names and words stay out of the log


def test_the_first_admin_comes_from_the_environment_and_never_a_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from scribe.cli.serve import ensure_admin

    bare = make_settings(tmp_path / "a", admin_password=None)
    with pytest.raises(Exception) as info:
        ensure_admin(bare, interactive=False)
    assert "SCRIBE_ADMIN_PASSWORD" in str(info.value)
    with pytest.raises(AccountError):
        ensure_admin(make_settings(tmp_path / "b", admin_password="short"), interactive=False)
    settings = make_settings(tmp_path / "c", admin_password="a sound first password")
    assert ensure_admin(settings, interactive=False) == "admin"
    assert ensure_admin(settings, interactive=False) is None  # only once
    server = ServerThread(create_app(settings, live=MemoryLive(tmp_path)))
    try:
        ok = httpx.post(server.url + "/api/auth/login", json={"username": "admin", "password": "a sound first password"})
        assert ok.status_code == 200 and ok.json()["role"] == "admin"
    finally:
        server.close()


def test_pages_redirect_to_login_and_render_in_chinese_or_english(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        r = c.get("/", headers={"accept": "text/html"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert "登录" in c.get("/login").text
        assert "Log in" in c.get("/login", params={"lang": "en"}).text
        assert "Log in" in c.get("/login").text  # the choice is remembered
        c.get("/login", params={"lang": "zh"})
        login(c, "med_a")
        h = _create(c)
        desk = c.get(f"/hearings/{h['id']}", headers={"accept": "text/html"})
        assert desk.status_code == 200 and "录音告知与同意" in desk.text
        assert "default-src 'self'" in desk.headers["content-security-policy"]
        assert "Recording notice" in c.get(f"/hearings/{h['id']}", params={"lang": "en"}).text
    with closing(c_(srv)) as other:
        login(other, "med_b")
        assert other.get(f"/hearings/{h['id']}", headers={"accept": "text/html"}).status_code == 404


def test_audio_span_is_cut_from_the_recording(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        login(c, "med_a")
        h = _create(c, parties=[{"role": "applicant", "name": "甲"}])
        c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": True})
        c.post(f"/api/hearings/{h['id']}/record")
        r = c.get(f"/api/hearings/{h['id']}/audio", params={"start": 0.5, "end": 1.0})
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        import io
        import wave

        with wave.open(io.BytesIO(r.content)) as w:
            assert w.getnframes() == 8000 and w.getframerate() == 16000


def test_transcript_corrections_keep_the_original(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        login(c, "med_a")
        h = _create(c, parties=[{"role": "applicant", "name": "甲"}])
        c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": True})
        c.post(f"/api/hearings/{h['id']}/record")
        r = c.put(f"/api/hearings/{h['id']}/transcript/segments/1", json={"text": "我同意赔偿叁仟元"})
        assert r.status_code == 200
        tr = c.get(f"/api/hearings/{h['id']}/transcript").json()
        assert tr["segments"][1]["text"] == "我同意赔偿三千元"  # the original stays as recognised
        assert tr["corrections"]["1"] == {**tr["corrections"]["1"], "original": "我同意赔偿三千元", "text": "我同意赔偿叁仟元", "by": "med_a"}
        assert c.put(f"/api/hearings/{h['id']}/transcript/segments/9", json={"text": "x"}).status_code == 404


def test_metrics_count_requests(srv: dict[str, Any]) -> None:
    httpx.get(srv["url"] + "/health")
    r = httpx.get(srv["url"] + "/metrics", headers={"Authorization": f"Bearer {srv['tokens']['monitor']}"})
    assert r.status_code == 200
    assert 'scribe_http_requests_total{method="GET",route="/health",status="200"}' in r.text


def test_office_b_cannot_touch_office_a(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as a:
        login(a, "med_a")
        h = _create(a)
    with closing(c_(srv)) as b:
        login(b, "med_b")
        assert b.get(f"/api/hearings/{h['id']}").status_code == 404
        assert b.patch(f"/api/hearings/{h['id']}", json={"title": "x"}).status_code == 404
        mine = _create(b)
        assert mine["office"] == OFFICE_B


def test_voice_enrolment_needs_separate_consent_and_a_short_recording(tmp_path, shared_data) -> None:  # type: ignore[no-untyped-def]
    """Consent first, 5-30 s of speech, and the diarization models the live engine already
    holds (no second copy loaded for enrolment)."""
    import numpy as np
    import soundfile as sf

    from scribe.services import load_diarization

    settings = make_settings(tmp_path)
    seed_accounts(settings)
    app = create_app(settings, live=MemoryLive(tmp_path))
    server = ServerThread(app)
    models = app.state.services.diarization = load_diarization(settings)  # as a live engine holds them
    audio, rate = sf.read(shared_data / "audio" / "zh_aishell1_BAC009S0764W0121.wav", dtype="int16")
    assert rate == 16000
    body = np.asarray((list(audio) * 3)[: 16000 * 12], dtype="<i2").tobytes()  # ~12 s of one speaker
    try:
        with closing(httpx.Client(base_url=server.url, timeout=60)) as c:
            login(c, "med_a")
            headers = {"content-type": "application/octet-stream"}
            assert c.post("/api/voiceprints/me", content=body, headers=headers).status_code == 409  # no consent
            too_long = np.zeros(16000 * 40, dtype="<i2").tobytes()
            assert c.post("/api/voiceprints/me?consent=true", content=too_long, headers=headers).status_code == 413
            r = c.post("/api/voiceprints/me?consent=true", content=body, headers=headers)
            assert r.status_code == 201, r.text
            assert r.json()["name"] == "med_a" and r.json()["speech_seconds"] >= 5
        assert app.state.services.diarization_models() is models  # that copy served it, no second one
    finally:
        server.close()


def test_scribe_serve_creates_the_admin_and_prints_the_desk_address(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, SCRIBE_DATA_DIR=str(tmp_path), SCRIBE_ADMIN_PASSWORD="a sound first password")
    scribe = Path(sys.executable).parent / "scribe"
    # without a password and without a terminal it refuses to start (no default password)
    bare = dict(os.environ, SCRIBE_DATA_DIR=str(tmp_path / "bare"))
    bare.pop("SCRIBE_ADMIN_PASSWORD", None)
    refused = subprocess.run([str(scribe), "serve", "--no-models", "--port", str(port)], env=bare,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert refused.returncode != 0 and "SCRIBE_ADMIN_PASSWORD" in refused.stderr
    proc = subprocess.Popen([str(scribe), "serve", "--no-models", "--port", str(port)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        r = httpx.post(f"http://127.0.0.1:{port}/api/auth/login", json={"username": "admin", "password": "a sound first password"})
        assert r.status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    assert f"Desk page: http://127.0.0.1:{port}/" in out


def test_the_list_page_takes_the_search_form_as_browsers_send_it(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        login(c, "med_a")
        h = _create(c, case_number="（2026）城人调字第77号")
        r = c.get("/?q=第77号&date_from=&date_to=&kind=&category=&status=", headers={"accept": "text/html"})
        assert r.status_code == 200 and h["id"] in r.text
        r = c.get("/?q=&date_from=2030-01-01&date_to=", headers={"accept": "text/html"})
        assert h["id"] not in r.text


def test_speaker_labels_of_the_diarizer_can_be_named(srv: dict[str, Any]) -> None:
    with closing(c_(srv)) as c:
        login(c, "med_a")
        h = _create(c)
        for label in ("SPEAKER_00", "说话人1"):
            r = c.put(f"/api/hearings/{h['id']}/speakers/{label}", json={"role": "applicant", "name": "张三"})
            assert r.status_code == 200 and r.json()["speakers"][label] == {"role": "applicant", "name": "张三"}
        assert c.put(f"/api/hearings/{h['id']}/speakers/a%20b", json={"role": "applicant", "name": "x"}).status_code == 422
