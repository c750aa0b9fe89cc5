"""Desk-like simulated hearings and short four-speaker meetings, built from the real clips of
``../shared/data`` at run time (never stored in the repository: several clips are for
evaluation only, see the data README).

    python benchmarks/make_hearings.py                 # writes out/hearings/ (ignored by git)
    python benchmarks/make_hearings.py --out DIR --force

Each file gets ``ID.wav`` (16 kHz, 16-bit), ``ID.rttm`` (reference speaker turns: the speech
of each placed utterance, split at its own pauses of 0.5 s or more) and ``ID.json``
([{start, end, speaker, text, source_id, reference_quality, ...}], one entry per placed
utterance). ``index.json`` lists the files with their part (``dev`` or ``frozen``), the
voices, the names spoken in them (for the hotword benchmark) and the recipe values drawn.

The split into parts was fixed before any result was looked at: even seeds are frozen, and
the frozen hearings' mediators are voices that never chair a development hearing (parties are
drawn from one pool: there are too few distinct voices in the clips to keep them apart too).
docs/diarization.md describes how the files are made.

Same seed, same files: ``ensure(out)`` regenerates only when the recipe version changed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SCRIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_OUT = ROOT / "out" / "hearings"
RECIPE = 3  # bump when the recipe changes: ensure() then rebuilds
SR = 16000

# One voice = one real person in the clips. Only clips whose speaker is known to be the same
# person share a voice; clips of unknown speakers are a voice each only when they come from
# different sources (two clips of one unknown-speaker demo page are never both used).
VOICES: dict[str, list[str]] = {
    # several utterances each: they can chair a hearing
    "D4": ["strender_thchs30_D4_750", "strender_thchs30_D4_751", "strender_thchs30_D4_752",
           "strender_thchs30_D4_753", "strender_thchs30_D4_754"],
    "ID0012": ["k2space_aishell2_ID0012W0030", "k2space_aishell2_ID0012W0162",
               "k2space_aishell2_ID0012W0215"],
    "ESD": ["strender_emotion_zh_angry_001", "strender_emotion_zh_happy_001",
            "strender_emotion_zh_sad_001", "strender_emotion_zh_surprised_001",
            "strender_emotion_zh_angry_002"],
    "CS_AUTHOR": ["strender_codeswitch_zh_en_test_0001", "strender_codeswitch_zh_en_test_0002",
                  "strender_codeswitch_zh_en_test_0003"],
    "S0764": ["zh_aishell1_BAC009S0764W0121", "zh_aishell1_BAC009S0764W0122"],
    # one long clip each, cut at its pauses into turns (or kept whole as a monologue)
    "POD_F": ["mossttsd_pod_f_enhanced"],
    "POD_M": ["mossttsd_pod_m_enhanced"],
    "MOON1": ["mossttsd_zh_spk1_moon"],
    "MOON2": ["mossttsd_zh_spk2_moon"],
    "FR_S1": ["frtts2_zh_S1"],
    "FR_S2": ["frtts2_zh_S2"],
    "SPARK": ["sparktts_prompt_audio"],
    "LECTURE": ["funasr_csharp_example_1"],
    "PPASR": ["zh_ppasr_test"],
    "FUNASR": ["zh_funasr_asr_example"],
    "S0915": ["minguni_BAC009S0915W0292"],
    "SPK8049": ["k2space_alimeeting_R8008_M8013-8049-74"],
    "PADDLE": ["paddlespeech_zh"],
    "COSY": ["cosyvoice_zero_shot_prompt"],
    "MING": ["mingtts_10002287-00000094"],
}
# mediators (the voice that speaks most, between the parties) by part, fixed in advance
MEDIATORS = {"dev": ["D4", "ID0012"], "frozen": ["ESD", "CS_AUTHOR"]}
# clips kept whole as a long monologue (12 s or more of one party)
MONOLOGUES = {"POD_F", "POD_M", "FR_S1", "LECTURE", "CS_AUTHOR"}

# names and places spoken in the clips (from their references), for the hotword benchmark
NAMES: dict[str, list[str]] = {
    "strender_thchs30_D4_750": ["马占山", "李杜", "唐聚五", "苏炳艾", "邓铁梅"],
    "strender_thchs30_D4_751": ["王英汉"],
    "strender_thchs30_D4_752": ["四马路", "阿九"],
    "strender_thchs30_D4_754": ["太原市", "寇庄村", "平阳集贸市场"],
    "mossttsd_pod_m_enhanced": ["复旦"],
    "sparktts_prompt_audio": ["燕之屋", "豆本豆"],
    "lsstt_thchs30_test_4": ["王英汉"],
    "sherpa_funasrnano_rag_history": ["犹地亚", "大希律王"],
    "sherpa_wschuan_9": ["杜蝶"],
    "sherpa_wschuan_15": ["杨胜坚", "天宝"],
}


@dataclass(frozen=True)
class Utterance:
    source_id: str
    voice: str
    samples: np.ndarray  # trimmed to its speech, float32
    regions: tuple[tuple[float, float], ...]  # speech inside ``samples`` (s)
    text: str
    quality: str


# -- material -------------------------------------------------------------------------------
def _manifest() -> dict[str, dict]:
    out: dict[str, dict] = {}
    m1 = json.loads((SHARED / "manifest.json").read_text(encoding="utf-8"))
    for e in m1["files"]:
        out[e["id"]] = {"file": e["path"], "text": e.get("reference_transcript") or "",
                        "quality": e.get("reference_quality") or ""}
    m2 = json.loads((SHARED / "manifest2.json").read_text(encoding="utf-8"))
    for e in m2["files"]:
        out[e["id"]] = {"file": e["file"], "text": e.get("reference_transcript") or "",
                        "quality": e.get("reference_quality") or "", "tier": e.get("tier")}
    return out


def _vad():  # type: ignore[no-untyped-def]
    from scribe.asr.vad import SileroVad
    from scribe.models import open_store
    from scribe.settings import get_settings

    settings = get_settings()
    return SileroVad(open_store(settings).path_for(settings.vad_model))


def _regions(vad, x: np.ndarray) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    from scribe.asr.vad import VadOptions

    opts = VadOptions(min_silence_s=0.5, pad_s=0.08, min_speech_s=0.15, max_region_s=60.0)
    return [(r.start, r.end) for r in vad.speech_regions(x, opts)]


def _split_text(text: str, fractions: list[float]) -> list[str]:
    """Cut ``text`` at the punctuation nearest to each cumulative fraction (approximate)."""
    marks = [i + 1 for i, c in enumerate(text) if c in "，。？！、,.?!；;"]
    cuts, last = [], 0
    for f in fractions[:-1]:
        want = f * len(text)
        cands = [m for m in marks if m > last] or [max(last + 1, int(round(want)))]
        best = min(cands, key=lambda m: abs(m - want))
        cuts.append(best)
        last = best
    pieces, prev = [], 0
    for c in [*cuts, len(text)]:
        pieces.append(text[prev:c].strip())
        prev = c
    return pieces


def load_material() -> dict[str, list[Utterance]]:
    """Every voice's utterances: ``VOICE`` its clips trimmed to their speech; ``VOICE/pieces``
    the same with each clip of 9 s or more cut at its pauses into turns of at least 3 s."""
    from scribe.audio import decode_audio

    manifest = _manifest()
    vad = _vad()
    out: dict[str, list[Utterance]] = {}
    for voice, ids in VOICES.items():
        whole, pieces = [], []
        for sid in ids:
            entry = manifest[sid]
            x = decode_audio(SHARED / entry["file"]).samples.astype(np.float32)
            regs = _regions(vad, x)
            if not regs:
                continue
            a, b = int(regs[0][0] * SR), int(regs[-1][1] * SR)
            y = x[a:b]
            rel = tuple((s - regs[0][0], e - regs[0][0]) for s, e in regs)
            whole.append(Utterance(sid, voice, y, rel, entry["text"], entry["quality"]))
            cut: list[Utterance] = []
            if len(y) / SR >= 9.0 and len(rel) > 1:
                groups: list[list[tuple[float, float]]] = [[rel[0]]]
                for r in rel[1:]:
                    if groups[-1][-1][1] - groups[-1][0][0] < 3.0:
                        groups[-1].append(r)
                    else:
                        groups.append([r])
                if len(groups) > 1 and groups[-1][-1][1] - groups[-1][0][0] < 2.0:
                    groups[-2] += groups.pop()
                if len(groups) > 1:
                    total = rel[-1][1]
                    texts = _split_text(entry["text"], [g[-1][1] / total for g in groups])
                    for g, t in zip(groups, texts):
                        s0 = g[0][0]
                        seg = y[int(s0 * SR) : int(g[-1][1] * SR)]
                        cut.append(Utterance(
                            sid, voice, seg, tuple((s - s0, e - s0) for s, e in g), t,
                            "cut at a pause of the clip; text split at the nearest punctuation (approximate)",
                        ))
            pieces += cut or [whole[-1]]
        out[voice] = whole
        out[voice + "/pieces"] = pieces
    return out


# -- acoustics ------------------------------------------------------------------------------
def _rir(rng: np.random.Generator, rt60: float, drr_db: float) -> np.ndarray:
    """A synthetic room impulse response: direct path, a few early reflections, and an
    exponentially decaying noise tail with the given RT60 and direct-to-reverberant ratio."""
    n = int(SR * min(1.2, 1.5 * rt60))
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    onset = int(SR * 0.003)
    tail[:onset] = 0.0
    for _ in range(6):  # early reflections, 3-25 ms
        k = int(SR * rng.uniform(0.003, 0.025))
        tail[k] += rng.uniform(-0.6, 0.6) * np.sqrt(np.sum(tail**2) / n) * 30
    tail *= 10 ** (-drr_db / 20) / np.sqrt(np.sum(tail**2))
    h = tail
    h[0] = 1.0
    return h.astype(np.float32)


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec /= np.sqrt(np.maximum(f, 20.0))
    x = np.fft.irfft(spec, n)
    t = np.arange(n) / SR
    x = x / np.std(x) + 0.15 * np.sin(2 * np.pi * 50 * t)  # mains hum of a desk PC
    return (x / np.std(x)).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


# -- scripts --------------------------------------------------------------------------------
@dataclass
class Placed:
    start: float
    utt: Utterance
    backchannel: bool = False


def _script_hearing(rng: np.random.Generator, material, mediator: str, parties: list[str],
                    monologue: str | None) -> list[tuple[Utterance, str]]:
    """Who says what, in order: the mediator opens and speaks between parties; each party
    uses its clips (or the pieces of its long clip); the monologue party's long clip whole."""
    pools: dict[str, list[Utterance]] = {}
    for v in [mediator, *parties]:
        if v == monologue:
            pools[v] = sorted(material[v], key=lambda u: -len(u.samples))[:1]
        else:
            pools[v] = list(material[v + "/pieces"])
            rng.shuffle(pools[v])
    order: list[tuple[Utterance, str]] = []
    order.append((pools[mediator].pop(), "turn"))
    last = mediator
    while any(pools[p] for p in parties):
        cands = [p for p in parties if pools[p] and p != last]
        if not cands:
            cands = [p for p in parties if pools[p]]
        p = cands[int(rng.integers(len(cands)))]
        order.append((pools[p].pop(), "turn"))
        last = p
        if pools[mediator] and rng.random() < 0.5:
            order.append((pools[mediator].pop(), "turn"))
            last = mediator
    while pools[mediator]:
        order.append((pools[mediator].pop(), "turn"))
    return order


def _backchannel(rng: np.random.Generator, material, voice: str) -> Utterance | None:
    """A short interjection of ``voice`` (0.3-0.7 s): a short speech region of one of its
    clips when it has one (the code-switching author's clip ends in a lone 嗯), else the first
    0.3-0.7 s of a clip (a syllable or two)."""
    short = [(u, r) for u in material[voice] for r in u.regions if 0.2 <= r[1] - r[0] <= 0.8]
    if short:
        u, (s, e) = short[int(rng.integers(len(short)))]
        text = "嗯" if u.source_id == "strender_codeswitch_zh_en_test_0001" and e >= u.regions[-1][1] - 1e-6 else ""
        seg = u.samples[int(s * SR) : int(e * SR)]
        return Utterance(u.source_id, voice, seg, ((0.0, len(seg) / SR),), text,
                         "short speech region of the clip" + ("" if text else "; its words are not transcribed"))
    clips = [u for u in material[voice] if u.regions[0][1] - u.regions[0][0] >= 0.4]
    if not clips:
        return None
    u = clips[int(rng.integers(len(clips)))]
    d = float(rng.uniform(0.3, min(0.7, u.regions[0][1])))
    seg = u.samples[: int(d * SR)]
    return Utterance(u.source_id, voice, seg, ((0.0, d),), "",
                     "first syllables of the clip as a backchannel; its words are not transcribed")


def _place(rng: np.random.Generator, order, material, *, overlap_share: float,
           backchannels: int, gap: tuple[float, float]) -> list[Placed]:
    placed: list[Placed] = []
    t = float(rng.uniform(0.5, 1.0))
    prev_end = t
    for utt, _kind in order:
        start = prev_end + float(rng.uniform(*gap))
        if placed and rng.random() < overlap_share:
            start = prev_end - float(rng.uniform(0.2, 0.6))  # starts over the previous voice
        placed.append(Placed(max(0.0, start), utt))
        prev_end = max(prev_end, start + len(utt.samples) / SR)
    # backchannels inside long turns of someone else, by a voice already in the hearing
    longs = [p for p in placed if len(p.utt.samples) / SR >= 5.0]
    voices = sorted({p.utt.voice for p in placed})
    for _ in range(backchannels):
        if not longs:
            break
        host = longs[int(rng.integers(len(longs)))]
        others = [v for v in voices if v != host.utt.voice]
        bc = _backchannel(rng, material, others[int(rng.integers(len(others)))])
        if bc is None:
            continue
        dur = len(host.utt.samples) / SR
        at = host.start + float(rng.uniform(1.5, dur - 1.5))
        placed.append(Placed(at, bc, backchannel=True))
    return sorted(placed, key=lambda p: p.start)


def _render(rng: np.random.Generator, placed: list[Placed], voices: list[str], far: str | None,
            rt60: float, snr_db: float) -> tuple[np.ndarray, dict[str, dict]]:
    end = max(p.start + len(p.utt.samples) / SR for p in placed) + float(rng.uniform(0.6, 1.2))
    n = int(end * SR)
    mix = np.zeros(n + SR * 2, dtype=np.float32)
    acoustics: dict[str, dict] = {}
    rirs: dict[str, np.ndarray] = {}
    for v in voices:
        if v == far:
            gain_db, drr = float(rng.uniform(-14.0, -10.0)), float(rng.uniform(-6.0, -3.0))
        else:
            gain_db, drr = float(rng.uniform(-3.0, 3.0)), float(rng.uniform(0.0, 6.0))
        rirs[v] = _rir(rng, rt60, drr)
        acoustics[v] = {"gain_db": round(gain_db, 1), "drr_db": round(drr, 1), "far": v == far}
    for p in placed:
        x = p.utt.samples / _rms(p.utt.samples) * 10 ** (-23 / 20)  # -23 dBFS before gain
        x = x * 10 ** (acoustics[p.utt.voice]["gain_db"] / 20)
        if p.backchannel:
            x = x * 10 ** (-4 / 20)  # said under one's breath
        from scipy.signal import fftconvolve

        y = fftconvolve(x, rirs[p.utt.voice])[: len(x) + int(0.4 * SR)]
        a = int(p.start * SR)
        mix[a : a + len(y)] += y[: len(mix) - a]
    mix = mix[:n]
    speech = _rms(mix[np.abs(mix) > 1e-4]) if np.any(np.abs(mix) > 1e-4) else 1e-3
    noise = _pink(rng, n) * speech * 10 ** (-snr_db / 20)
    mix = mix + noise
    peak = float(np.max(np.abs(mix)))
    if peak > 0.9:
        mix *= 0.9 / peak
    return mix.astype(np.float32), acoustics


def _write(out: Path, fid: str, mix: np.ndarray, placed: list[Placed]) -> tuple[list, list]:
    import soundfile as sf

    sf.write(out / f"{fid}.wav", mix, SR, subtype="PCM_16")
    dur = len(mix) / SR
    turns, entries = [], []
    for p in placed:
        for s, e in p.utt.regions:
            a, b = round(p.start + s, 3), round(min(dur, p.start + e), 3)
            if b > a:
                turns.append((a, b, p.utt.voice))
        entries.append({
            "start": round(p.start, 3),
            "end": round(min(dur, p.start + len(p.utt.samples) / SR), 3),
            "speaker": p.utt.voice,
            "text": p.utt.text,
            "source_id": p.utt.source_id,
            "reference_quality": p.utt.quality,
            **({"backchannel": True} if p.backchannel else {}),
        })
    turns.sort()
    (out / f"{fid}.rttm").write_text(
        "".join(f"SPEAKER {fid} 1 {a:.3f} {b - a:.3f} <NA> <NA> {v} <NA> <NA>\n" for a, b, v in turns)
    )
    (out / f"{fid}.json").write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    return turns, entries


def hearing(material, seed: int, out: Path) -> dict:
    """A desk hearing (80-130 s): a mediator and 2-3 parties, one of them far from the
    microphone and quiet, one long monologue when a party has one, overlapping starts,
    backchannels, one room and steady noise."""
    part = "frozen" if seed % 2 == 0 else "dev"
    rng = np.random.default_rng(1000 + seed)
    mediator = MEDIATORS[part][(seed // 2) % len(MEDIATORS[part])]
    pool = [v for v in VOICES if v not in MEDIATORS["dev"] + MEDIATORS["frozen"]]
    num_parties = int(rng.integers(2, 4))  # 3-4 voices in all
    parties = [pool[i] for i in rng.choice(len(pool), num_parties, replace=False)]
    if not any(p in MONOLOGUES for p in parties):
        mono = sorted(MONOLOGUES - set(MEDIATORS["dev"] + MEDIATORS["frozen"]))
        parties[-1] = mono[int(rng.integers(len(mono)))]
        if len(set(parties)) < len(parties):
            parties = list(dict.fromkeys(parties))
    monologue = next((p for p in parties if p in MONOLOGUES), None)
    far = parties[int(rng.integers(len(parties)))]
    order = _script_hearing(rng, material, mediator, parties, monologue)
    placed = _place(rng, order, material, overlap_share=0.25, backchannels=int(rng.integers(2, 5)),
                    gap=(0.25, 0.8))
    voices = [mediator, *parties]
    rt60, snr = float(rng.uniform(0.3, 0.6)), float(rng.uniform(15.0, 22.0))
    mix, acoustics = _render(rng, placed, voices, far, rt60, snr)
    fid = f"hearing_{seed:02d}"
    _turns, entries = _write(out, fid, mix, placed)
    return _index_entry(fid, "hearing", part, seed, mix, voices, entries, acoustics,
                        rt60=rt60, snr=snr, mediator=mediator, far=far, monologue=monologue)


def meeting(material, seed: int, out: Path) -> dict:
    """A short four-speaker meeting (20-45 s) for counting: four voices, 1-3 turns each,
    a quarter of the turns overlapping the previous one, one room and steady noise."""
    part = "frozen" if seed % 2 == 0 else "dev"
    rng = np.random.default_rng(2000 + seed)
    pool = [v for v in VOICES if material[v]]
    voices = [pool[i] for i in rng.choice(len(pool), 4, replace=False)]
    order: list[tuple[Utterance, str]] = []
    per_voice = {}
    for v in voices:
        cand = [u for u in material[v + "/pieces"] if len(u.samples) / SR <= 9.0]
        cand = cand or sorted(material[v], key=lambda u: len(u.samples))[:1]
        k = int(rng.integers(1, min(3, len(cand)) + 1))
        per_voice[v] = [cand[i] for i in rng.choice(len(cand), k, replace=False)]
    # everyone speaks once first (in random order), then the second turns
    first = [per_voice[v].pop() for v in rng.permutation(voices)]
    rest = [u for v in voices for u in per_voice[v]]
    rng.shuffle(rest)
    seq = first + rest
    for i in range(1, len(seq)):  # no voice twice in a row
        if seq[i].voice == seq[i - 1].voice:
            j = next((j for j in range(i + 1, len(seq)) if seq[j].voice != seq[i - 1].voice), None)
            if j is not None:
                seq[i], seq[j] = seq[j], seq[i]
    order = [(u, "turn") for u in seq]
    placed = _place(rng, order, material, overlap_share=0.25, backchannels=0, gap=(0.2, 0.7))
    rt60, snr = float(rng.uniform(0.3, 0.6)), float(rng.uniform(15.0, 22.0))
    mix, acoustics = _render(rng, placed, voices, None, rt60, snr)
    fid = f"meeting4_{seed:02d}"
    _turns, entries = _write(out, fid, mix, placed)
    return _index_entry(fid, "meeting", part, seed, mix, voices, entries, acoustics, rt60=rt60, snr=snr)


def _index_entry(fid, kind, part, seed, mix, voices, entries, acoustics, **recipe) -> dict:  # type: ignore[no-untyped-def]
    names = [n for e in entries if not e.get("backchannel") for n in NAMES.get(e["source_id"], [])
             if n in e["text"]]
    return {
        "id": fid, "kind": kind, "part": part, "seed": seed,
        "wav": f"{fid}.wav", "rttm": f"{fid}.rttm", "json": f"{fid}.json",
        "duration_s": round(len(mix) / SR, 3), "speakers": voices, "num_speakers": len(voices),
        "turns": len(entries), "backchannels": sum(1 for e in entries if e.get("backchannel")),
        "names": list(dict.fromkeys(names)),
        "acoustics": acoustics,
        "recipe": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in recipe.items()},
    }


HEARING_SEEDS = tuple(range(1, 9))  # 4 dev (odd), 4 frozen (even)
MEETING_SEEDS = tuple(range(1, 9))


def build(out: Path = DEFAULT_OUT) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    material = load_material()
    files = [hearing(material, s, out) for s in HEARING_SEEDS]
    files += [meeting(material, s, out) for s in MEETING_SEEDS]
    index = {"recipe": RECIPE, "source": str(SHARED), "files": files,
             "note": "SIMULATED from real clips of ../shared/data (evaluation only; never ship)."}
    (out / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")
    return index


def ensure(out: Path = DEFAULT_OUT) -> dict:
    """The index of the generated files, building them first when missing or out of date."""
    idx = out / "index.json"
    if idx.exists():
        index = json.loads(idx.read_text(encoding="utf-8"))
        if index.get("recipe") == RECIPE and all((out / f["wav"]).exists() for f in index["files"]):
            return index
    return build(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = ap.parse_args()
    index = build(args.out) if args.force else ensure(args.out)
    for f in index["files"]:
        print(f"{f['id']:12s} {f['part']:6s} {f['duration_s']:6.1f} s  {f['num_speakers']} voices "
              f"{','.join(f['speakers'])}  turns {f['turns']} (backchannels {f['backchannels']})  "
              f"names {len(f['names'])}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
