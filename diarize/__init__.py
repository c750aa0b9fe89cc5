"""Speaker separation (角色分离): who spoke when, offline and live, enrolment and roles.

Public interface (other packages import only these names):

* :class:`OfflineDiarizer` — ``OfflineDiarizer.from_store(store, settings)`` once, then
  ``.diarize(samples, *, num_speakers=None, min_speakers=None, max_speakers=None)
  -> list[SpeakerTurn]`` for any number of recordings (16 kHz mono float32).
* :func:`attribute_words` — ``attribute_words(transcript, turns) -> Transcript``: word-level
  speaker attribution, splitting segments where the speaker changes.
* :class:`StreamingDiarizer` — ``.feed(AudioChunk) -> list[SpeakerTurn]`` settled at most ~2 s
  behind the audio, stable labels, optional enrolled voiceprints, ``.flush()`` and
  ``.final_pass(samples, offline)`` for the offline re-pass at the end of a session.
* :class:`VoiceprintStore`, :class:`Consent`, :func:`enrolment_embedding` — enrolment.
* :class:`SpeakerRoster` — speaker label -> role and name.

Unknown voices are labelled 说话人1, 说话人2, ... in order of first appearance.
"""

from diarize.attribution import attribute_words
from diarize.labels import unknown_label
from diarize.models import DiarizationModels, load_models
from diarize.offline import DiarizationOptions, DiarizationResult, OfflineDiarizer
from diarize.roles import ROLES, SpeakerRoster
from diarize.rttm import read_rttm, write_rttm
from diarize.streaming import StreamingDiarizer, StreamingOptions
from diarize.voiceprints import (
    Consent,
    ConsentRequired,
    Voiceprint,
    VoiceprintStore,
    enrolment_embedding,
    match_voiceprints,
)

__all__ = [
    "ROLES",
    "Consent",
    "ConsentRequired",
    "DiarizationModels",
    "DiarizationOptions",
    "DiarizationResult",
    "OfflineDiarizer",
    "SpeakerRoster",
    "StreamingDiarizer",
    "StreamingOptions",
    "Voiceprint",
    "VoiceprintStore",
    "attribute_words",
    "enrolment_embedding",
    "load_models",
    "match_voiceprints",
    "read_rttm",
    "unknown_label",
    "write_rttm",
]
