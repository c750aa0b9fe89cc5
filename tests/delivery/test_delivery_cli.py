"""``scribe endpoints ...`` and ``scribe deliveries ...`` as an admin runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from scribe.storage import Database

from .conftest import approve_new, delivery_settings
from .receiver import Reply

SCRIBE = Path(sys.executable).parent / "scribe"


def test_admin_commands_end_to_end(tmp_path, receiver):
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {
        **os.environ,
        "SCRIBE_DATABASE_URL": db_url,
        "SCRIBE_DATA_DIR": str(tmp_path / "data"),
        "SCRIBE_DELIVERY_ALLOW_HTTP": "true",
        "SCRIBE_DELIVERY_ALLOW_LOOPBACK": "true",
        "SCRIBE_DELIVERY_LINK_SECRET": "test-link-key",
        "COLUMNS": "250",
    }

    def scribe(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(SCRIBE), *args], env=env, capture_output=True, text=True, timeout=120
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    added = scribe(
        "endpoints", "add", receiver.url, "-e", "document.approved", "--name", "市矛盾纠纷平台",
        "--office", "城关司法所",
    )
    ep_id = re.search(r"endpoint (ep_\w+)", added.stdout).group(1)
    secret = re.search(r"(whsec_\S+)", added.stdout).group(1)
    receiver.secrets.append(secret)
    listing = scribe("endpoints", "list").stdout
    assert ep_id in listing and "enabled" in listing and secret not in listing

    rotated = scribe("endpoints", "rotate", ep_id, "--grace-hours", "2").stdout
    receiver.secrets.append(re.search(r"(whsec_\S+)", rotated).group(1))
    assert "rotating until" in scribe("endpoints", "list").stdout
    scribe("endpoints", "disable", ep_id, "--reason", "平台维护")
    assert "disabled: 平台维护" in scribe("endpoints", "list").stdout
    scribe("endpoints", "enable", ep_id)
    token = scribe(
        "endpoints", "token", "市平台", "-s", "documents:read", "-s", "transcripts:read"
    ).stdout
    assert re.search(r"sct_\S+", token)

    db = Database(db_url)
    settings = delivery_settings(tmp_path, delivery_link_secret="test-link-key")
    approval = approve_new(db, tmp_path, settings)
    db.dispose()

    receiver.behaviour = lambda n, r: Reply(503 if n == 1 else 200)
    scribe("deliveries", "worker", "--once")  # one attempt (503), the retry is 5 s away
    assert "pending" in scribe("deliveries", "list", "--status", "pending").stdout
    scribe("deliveries", "replay", approval.message_id)  # an admin sends it again now
    scribe("deliveries", "worker", "--once")
    listing = scribe("deliveries", "list").stdout
    assert approval.message_id in listing and "delivered" in listing
    shown = scribe("deliveries", "show", approval.message_id).stdout
    assert "503" in shown and "200" in shown and "delivered" in shown
    assert receiver.ids() == {approval.message_id: 2}
    assert all(len(r.verified_with) == 2 for r in receiver.requests)  # both secrets sign

    missing = scribe("deliveries", "replay", "msg_nope", ok=False)
    assert missing.returncode == 9 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().count("\n") == 0 and "scribe deliveries list" in missing.stderr
    refused = scribe("endpoints", "add", "http://10.0.0.7/hook", "--office", "城关司法所", ok=False)
    assert refused.returncode == 9 and "private address" in refused.stderr
