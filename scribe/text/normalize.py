"""Normalisation before scoring (CER for Mandarin, WER for English).

The same function is applied to references and hypotheses, for our output and the raw
engine's alike, so a score measures recognition, not typesetting.
"""

from __future__ import annotations

import re
import unicodedata

from scribe.text.zh import has_han, to_simplified

_PUNCT = re.compile(r"[^\w\s']|_", re.UNICODE)


def normalize_zh(text: str) -> str:
    """Simplified, Chinese numerals -> Arabic (cn2an), no punctuation, no spaces, lower case."""
    import cn2an

    text = unicodedata.normalize("NFKC", to_simplified(text))
    try:
        text = cn2an.transform(text, "cn2an")
    except Exception:  # noqa: BLE001 - cn2an raises bare errors on odd input; keep the text
        pass
    text = _PUNCT.sub("", text)
    return re.sub(r"\s+", "", text).lower()


def normalize_en(text: str) -> str:
    """Lower case, digits spelled out (years as years), no punctuation but apostrophes, single spaces."""
    from num2words import num2words

    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = re.sub(r"\d+(\.\d+)?", lambda m: " " + _spell(m.group(), bool(m.group(1)), num2words) + " ", text)
    text = text.replace("-", " ")
    text = _PUNCT.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def _spell(number: str, decimal: bool, num2words) -> str:  # type: ignore[no-untyped-def]
    if decimal:
        return num2words(float(number))
    value = int(number)
    # four-digit numbers from 1100 to 2099 are read as years ("eighteen thirteen")
    if len(number) == 4 and 1100 <= value <= 2099:
        return num2words(value, to="year")
    return num2words(value)


def normalize(text: str, language: str) -> str:
    return normalize_zh(text) if language == "zh" or has_han(text) else normalize_en(text)


def error_rate(references: list[str], hypotheses: list[str], language: str) -> float:
    """CER for Mandarin (characters), WER for English (words), over the whole set."""
    import jiwer

    refs = [normalize(r, language) for r in references]
    hyps = [normalize(h, language) for h in hypotheses]
    if language == "zh":
        return float(jiwer.cer(refs, hyps))
    return float(jiwer.wer(refs, hyps))
