"""The composition root is the one place where settings become components (docs/architecture.md).

Structural checks of the source tree: each fails when someone builds a stage by hand again."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ("scribe/live", "scribe/delivery", "scribe/review", "scribe/models", "scribe/asr", "diarize",
           "scribe/lifecycle.py", "scribe/web", "scribe/storage", "scribe/privacy", "scribe/accounts",
           "scribe/extract", "scribe/drafting", "scribe/text", "doc_templates")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def _files(*where: str) -> list[Path]:
    out: list[Path] = []
    for w in where:
        p = ROOT / w
        out += [p] if p.is_file() else sorted(p.rglob("*.py"))
    return out


def test_no_library_code_falls_back_to_the_process_settings() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in _files(*LIBRARY)
                 if "scribe.settings.get_settings" in _imports(p)]
    assert offenders == [], offenders


def test_the_benchmarks_build_models_the_way_the_server_does() -> None:
    """What is measured is what runs: no benchmark loads diarization or live models by hand."""
    by_hand = {"diarize.load_models", "diarize.OfflineDiarizer", "scribe.live.engine.LiveEngine"}
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & by_hand) for p in _files("benchmarks")
                 if _imports(p) & by_hand}
    assert offenders == {}, offenders
    users = [p.name for p in _files("benchmarks") if any(i.startswith("scribe.services.") for i in _imports(p))]
    assert {"live.py", "live_soak.py", "diarization_runner.py", "diarization_soak.py"} <= set(users), users


def test_the_server_and_the_cli_build_their_engines_in_the_composition_root() -> None:
    for path in ("server.py", "scribe/cli/record.py", "scribe/cli/sessions.py", "scribe/cli/diarize.py",
                 "scribe/cli/transcribe.py"):
        names = _imports(ROOT / path)
        assert any(n.startswith("scribe.services.") for n in names), path
        assert "diarize.load_models" not in names and "diarize.OfflineDiarizer" not in names, path


def test_torch_threads_are_set_in_one_place_only() -> None:
    callers = [str(p.relative_to(ROOT)) for p in _files("scribe", "diarize", "benchmarks")
               if "set_num_threads(" in p.read_text(encoding="utf-8")]
    assert callers == ["scribe/torch_threads.py"], callers


def test_one_list_of_dispute_categories() -> None:
    from scribe.casefile import DISPUTE_CATEGORIES
    from scribe.delivery.categories import CATEGORY_CODES
    from scribe.web.i18n import CATEGORY_EN
    from scribe.web.schemas import CATEGORIES

    assert CATEGORIES is DISPUTE_CATEGORIES
    assert set(CATEGORY_CODES) == set(DISPUTE_CATEGORIES)  # every row has its platform code
    assert set(CATEGORY_EN) == set(DISPUTE_CATEGORIES)  # and its English name


def test_flat_setting_names_still_work_from_the_environment_and_from_dot_env(tmp_path, monkeypatch) -> None:
    """Sites wrote SCRIBE_LIVE_MAX_LAG (and friends) into .env before the settings had groups;
    those files must keep meaning what they meant, with the environment winning over .env."""
    from scribe.settings import Settings

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "SCRIBE_LIVE_MAX_LAG=42\nSCRIBE_DIARIZE_CLUSTER_THRESHOLD=0.55\nSCRIBE_DELIVERY__TIMEOUT_S=9\n",
        encoding="utf-8",
    )
    for name in ("SCRIBE_LIVE_MAX_LAG", "SCRIBE_DIARIZE_CLUSTER_THRESHOLD", "SCRIBE_DELIVERY__TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(data_dir=tmp_path)
    assert s.live.max_lag == 42.0
    assert s.diarize.cluster_threshold == 0.55
    assert s.delivery.timeout_s == 9.0  # the nested name from .env, read by pydantic-settings
    monkeypatch.setenv("SCRIBE_LIVE_MAX_LAG", "7")
    assert Settings(data_dir=tmp_path).live.max_lag == 7.0
    # an explicit keyword wins over both
    assert Settings(data_dir=tmp_path, live_max_lag=3.0).live.max_lag == 3.0
