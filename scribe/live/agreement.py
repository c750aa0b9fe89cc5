"""LocalAgreement: the text two consecutive decodes of the same audio agree on is final.

The policy of whisper_streaming (Macháček et al., 2023, "Turning Whisper into Real-Time
Transcription System") and WhisperLiveKit: the utterance in progress is decoded again every
partial; the longest common prefix of the last two decodes' words is committed. A word that two
decodes, the second with more audio after it, both put in the same place is very unlikely to
change with still more audio; a word near the end of the audio, which Whisper is still
guessing, is not yet agreed.

Here the two decodes start from the same point (the utterance's start, after the text already
final, which is the decoder's forced prefix), so their word lists are compared from their
first word: no n-gram de-duplication of an overlap is needed as in whisper_streaming, which
re-decodes committed audio without forcing its text.

Pure functions on ``Word`` lists (times in seconds on the utterance's clock).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from scribe.types import Word


def comparable(word: str) -> str:
    """A word as the agreement compares it: case, spaces and punctuation do not count (the
    decode that hears less audio tends to close its last sentence: "可能就。" then "可能就看")."""
    return "".join(
        ch for ch in word.casefold() if not unicodedata.category(ch).startswith(("P", "Z", "S"))
    )


def spoken(words: Sequence[Word]) -> list[Word]:
    """The words that say something (a lone "..." or "。" the aligner placed is not a word)."""
    return [w for w in words if comparable(w.word)]


def agreed_prefix(previous: Sequence[Word], current: Sequence[Word]) -> int:
    """How many leading words of ``current`` the ``previous`` decode said too."""
    n = 0
    for a, b in zip(previous, current):
        if comparable(a.word) != comparable(b.word):
            break
        n += 1
    return n
