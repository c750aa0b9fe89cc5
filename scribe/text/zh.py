"""Mandarin a clerk can file: Simplified characters, Chinese punctuation, no stray spaces.

Whisper often writes Traditional characters, ASCII punctuation, and spaces where the speaker
paused; a record typed by a clerk has none of these. English words and numbers stay as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = "，。！？；：、（）《》“”‘’…—"
_HAN = re.compile(f"[{_CJK}]")

# ASCII punctuation next to a Chinese character becomes its full-width form. Decimal points,
# times (10:30) and abbreviations between ASCII characters are left alone.
_FULLWIDTH = {",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；", "(": "（", ")": "）"}
_ASCII_PUNCT_NEAR_HAN = re.compile(
    rf"(?<=[{_CJK}])\s*([,.?!:;])|([,?!:;])\s*(?=[{_CJK}])|(\()(?=[{_CJK}])|(?<=[{_CJK}])(\))"
)
_SPACE_BETWEEN_HAN = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_SPACE_HAN_DIGIT = re.compile(rf"(?<=[{_CJK}])\s+(?=\d)|(?<=\d)\s+(?=[{_CJK}])")
_SPACE_AROUND_CJK_PUNCT = re.compile(rf"\s*([{_CJK_PUNCT}])\s*")
_DOUBLE_PUNCT = re.compile(r"([，、；：])[，、；：]+|([。！？])[，。、；：]+")
_TERMINAL = tuple("。！？…”）》")


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    """For text fed back to Whisper (a decoder prefix): in the script its Mandarin prompt uses."""
    return _s2t().convert(text) if has_han(text) else text


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def to_simplified(text: str) -> str:
    return _t2s().convert(text) if has_han(text) else text


def finish_mandarin(text: str, *, end_sentence: bool = True) -> str:
    """Typeset one recognised Mandarin segment for the record."""
    text = to_simplified(text.strip())
    if not has_han(text):
        return re.sub(r"\s+", " ", text)
    # A space Whisper puts between two Chinese characters marks a pause inside a sentence.
    text = _SPACE_BETWEEN_HAN.sub("，", text)
    text = _SPACE_HAN_DIGIT.sub("", text)
    text = _ASCII_PUNCT_NEAR_HAN.sub(lambda m: _FULLWIDTH[next(g for g in m.groups() if g)], text)
    text = _SPACE_AROUND_CJK_PUNCT.sub(r"\1", text)
    text = _DOUBLE_PUNCT.sub(lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r"\s{2,}", " ", text).strip(" ，、；：")
    if end_sentence and text and has_han(text[-1]) and not text.endswith(_TERMINAL):
        text += "。"
    return text


def finish_text(text: str, language: str) -> str:
    """Language-aware finishing of one segment's text."""
    if language == "zh" or (language in ("yue", "ja") and has_han(text)):
        return finish_mandarin(text)
    return re.sub(r"\s+", " ", text).strip()
