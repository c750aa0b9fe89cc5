"""How often Whisper's language detection is wrong on the development recordings, and whether a
Mandarin-first prior fixes more files than it breaks.

For every recording of ``../shared/data`` with a known language (Mandarin, Sichuanese,
code-switched and English clips of both manifests, and the simulated hearings), the language is
detected exactly as ``scribe transcribe`` does (Silero VAD regions joined, then
``WhisperModel.detect_language``), and the decision of each rule is compared with the truth:

* ``detect``: the detector's top language (today);
* ``site``: the most likely of the office's languages (zh, en), whatever the probability;
* ``prior`` (``scribe.transcribe.choose_language``, what `scribe transcribe` does now): the most
  likely of the office's languages, unless the detector's own favourite is under even odds, then
  the office's usual language (zh).

A file is a *win* for a rule when detection is wrong and the rule is right, a *loss* when
detection is right and the rule is wrong. The frozen third (benchmarks/devset.py's rule) is
reported apart. ``python -m benchmarks.language_prior``
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.devset import DATA
from benchmarks.report import write_section

CHINESE = {"zh", "yue"}
SITE = ("zh", "en")


@dataclass(frozen=True)
class Item:
    id: str
    path: Path
    language: str  # zh | en

    @property
    def part(self) -> str:
        return "frozen" if int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % 3 == 0 else "tune"


def items(data: Path = DATA) -> list[Item]:
    out: list[Item] = []
    m1 = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    for f in m1["files"]:
        out.append(Item(f["id"], data / f["path"], "zh" if f["language"].startswith("zh") else f["language"]))
    m2 = json.loads((data / "manifest2.json").read_text(encoding="utf-8"))
    for f in m2["files"]:
        out.append(Item(f["id"], data / f["file"], "zh" if str(f.get("language", "zh")).startswith("zh") else f["language"]))
    for c in m2.get("conversations", []):
        out.append(Item(c["id"], data / c["path"], "zh"))
    return out


def main() -> None:
    from scribe.asr.vad import regions_from_probs
    from scribe.audio import decode_audio
    from scribe.settings import get_settings
    from scribe.transcribe import TranscribeOptions, Transcriber, _join, choose_language

    settings = get_settings()
    tr = Transcriber.load(settings, settings.asr_model)
    vad_options = TranscribeOptions().vad
    rows = []
    for it in items():
        samples = decode_audio(it.path).samples
        probs = tr.vad.speech_probs(samples)
        regions = regions_from_probs(probs, samples.size / 16000, vad_options)
        if not regions:
            continue
        speech, _ = _join(samples, regions)
        everything = tr.engine.detect_language(speech)
        lang, p = everything[0]
        detected = "zh" if lang in CHINESE else lang
        site = next(("zh" if g in CHINESE else g for g, _ in everything if ("zh" if g in CHINESE else g) in SITE), "zh")
        prior = choose_language(everything, SITE)
        rows.append((it, detected, float(p), site, prior))
        print(it.id, it.language, lang, round(p, 3), site, prior, flush=True)
    lines = [
        f"`python -m benchmarks.language_prior` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.machine()}, whisper-base int8, {len(rows)} recordings (Mandarin, Sichuanese, code-switched, "
        "English; both manifests and the simulated hearings). Language detected as `scribe transcribe` does "
        "(VAD speech joined). `site`: the most likely of zh/en; `prior` (`choose_language`, now the default): "
        "the same, but zh when the detector's favourite is under 0.5. Win: detection wrong, rule right; "
        "loss: detection right, rule wrong.",
        "",
        "| part | files | detection wrong | site wrong | prior wrong | site wins/losses | prior wins/losses |",
        "|---|---|---|---|---|---|---|",
    ]
    for part in ("tune", "frozen", "all"):
        sel = [r for r in rows if part == "all" or r[0].part == part]

        def score(k: int) -> tuple[int, int, int]:
            wrong = sum(r[k] != r[0].language for r in sel)
            wins = sum(r[1] != r[0].language and r[k] == r[0].language for r in sel)
            losses = sum(r[1] == r[0].language and r[k] != r[0].language for r in sel)
            return wrong, wins, losses

        dw = sum(r[1] != r[0].language for r in sel)
        (sw, swin, sloss), (pw, pwin, ploss) = score(3), score(4)
        lines.append(f"| {part} | {len(sel)} | {dw} | {sw} | {pw} | {swin}/{sloss} | {pwin}/{ploss} |")
    lines += ["", "| file | part | truth | detected | probability | site | prior |", "|---|---|---|---|---|---|---|"]
    for it, det, p, site, prior in rows:
        if det != it.language or site != it.language or prior != it.language or p < 0.5:
            lines.append(f"| {it.id} | {it.part} | {it.language} | {det} | {p:.3f} | {site} | {prior} |")
    lines.append("")
    lines.append("(Listed: every file where a rule is wrong or the probability is under 0.5.)")
    write_section("language-prior", "## Language detection: Whisper's vs a Mandarin-first prior\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
