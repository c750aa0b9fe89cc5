"""Whisper's known inventions on silence and noise, and its repetition loops.

Whisper was trained on subtitled video, so on silence, music or noise it produces the
subtitle credits and sign-offs it saw most ("字幕由Amara.org社区提供", "请不吝点赞 订阅 转发",
"谢谢观看", "Thanks for watching!"), or repeats one line over and over. VAD gating keeps most
non-speech away from the decoder; this filter removes what still comes through.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from scribe.text.zh import to_simplified

# Patterns are matched on Simplified text. Each one is a phrase nobody says at a mediation desk
# as a whole utterance; a segment made mostly of such phrases is dropped.
KNOWN_PHRASES: tuple[str, ...] = (
    r"字幕(由|提供|制作|来源|校对|翻译)[^，。\s]{0,20}",
    r"[^，。]{0,12}字幕组[^，。]{0,10}",
    r"amara\s*\.?\s*org[^，。\s]{0,12}",
    r"(中文|简体|繁体)?字幕[:：]?\s*[^，。]{0,10}(提供|制作)",
    r"请?不吝点赞[^。]{0,12}",
    r"(点赞|订阅|转发|打赏|关注)[\s、，,]*(订阅|转发|打赏|点赞|关注|支持)[^。]{0,12}",
    r"(欢迎|记得|请)?订阅[^，。]{0,6}(频道|节目)[^，。]{0,8}",
    r"(谢谢|感谢)(大家|各位|您)?的?(观看|收看|收听|聆听)[!！。]?",
    r"下(一)?(期|集)(再见|见)[!！。]?",
    r"明镜与点点栏目",
    r"优优独播剧场.{0,30}",
    r"yoyo television series exclusive",
    r"thanks? (you )?(so much )?for watching[.!]?",
    r"(please )?(like and )?subscribe[^.]{0,30}",
    r"subtitles? (by|created by|provided by)[^.]{0,40}",
    r"transcribed by[^.]{0,40}",
)
_KNOWN = re.compile("|".join(f"(?:{p})" for p in KNOWN_PHRASES), re.IGNORECASE)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
# a unit of 1-8 characters repeated 4+ times in a row ("谢谢谢谢谢谢谢谢", "对对对对对对")
_LOOP = re.compile(r"(.{1,8}?)\1{3,}", re.S)


@dataclass(frozen=True)
class FilterDecision:
    text: str  # what remains ("" means drop the segment)
    reason: str | None = None


def _core(text: str) -> str:
    return _NOT_WORD.sub("", to_simplified(text)).lower()


def clean_segment_text(text: str) -> FilterDecision:
    """Remove known inventions and collapse loops inside one segment."""
    simplified = to_simplified(text)
    stripped = _KNOWN.sub("", simplified)
    reason = None
    if stripped != simplified:
        reason = "known hallucination"
        # Little of substance is left: the whole segment was invented (the patterns' tails
        # are bounded, so a fragment of a longer credit line can survive the substitution).
        left, before = len(_core(stripped)), len(_core(simplified))
        if left <= 2 or left < 0.4 * before:
            return FilterDecision("", reason)
        text = stripped.strip(" ，,。.!！")
    looped = _LOOP.sub(lambda m: m.group(1), text)
    if looped != text:
        reason = reason or "repetition loop"
        text = looped
    return FilterDecision(text, reason)


REPEAT_WINDOW = 3  # a line repeated from one of the last this many kept segments is dropped


def is_repeat(text: str, previous: Sequence[str], *, window: int = REPEAT_WINDOW) -> bool:
    """A line Whisper already produced in one of the last ``window`` segments.

    Short replies ("好的", "对") are often really said twice, so only lines of 5+ characters
    count, unless the same short line has already come twice in a row.
    """
    core = _core(text)
    if not core:
        return False
    recent = [_core(p) for p in previous[-window:]]
    if len(core) >= 5:
        return core in recent
    return len(recent) >= 2 and recent[-1] == core and recent[-2] == core
