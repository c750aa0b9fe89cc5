"""Enrolled voices (voiceprints): biometric data, kept only with recorded consent.

A person (the mediator, a staff member, a party before the hearing) is enrolled from 5-30 s of
their speech: the mean CAM++ embedding of that speech is stored with who they are, their role
and the consent record (when, confirmed by whom, the notice shown). Deleting a voiceprint
removes the row. Embeddings never appear in ``repr``, logs or error messages.

Tables live here (``scribe.storage.Base``); ``Database.create_schema()`` creates them once this
module is imported.
"""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import DateTime, Integer, LargeBinary, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from scribe.errors import DiarizationError, SessionError
from scribe.storage import Base, Database, utcnow
from scribe.types import SAMPLE_RATE

MIN_ENROL_SPEECH = 5.0  # seconds of speech needed for a reliable voiceprint
MAX_ENROL_AUDIO = 30.0  # longer recordings are refused: enrolment is a short, deliberate act


class ConsentRequired(SessionError):
    """A voiceprint was to be stored without a recorded consent."""


@dataclass(frozen=True)
class Consent:
    """Separate consent to biometric processing (PIPL Art 28-29), as recorded at the desk."""

    given_at: dt.datetime
    confirmed_by: str  # the staff member who witnessed it
    notice: str  # the notice the person agreed to (purpose, retention, rights)

    def check(self) -> None:
        if not self.confirmed_by.strip() or not self.notice.strip():
            raise ConsentRequired(
                "a voiceprint needs a recorded consent: who confirmed it and the notice agreed to",
                fix="record the person's consent (--consent-by NAME, --notice TEXT) before enrolling",
            )


@dataclass(frozen=True)
class Voiceprint:
    """An enrolled voice, as the diarizers use it. ``label`` is what turns are labelled with."""

    id: str
    label: str  # the person's name as it should appear in the record
    role: str | None
    embedding: np.ndarray = field(repr=False, compare=False)  # (192,), unit length
    model: str = "campplus-zh-en"


class VoiceprintRow(Base):
    __tablename__ = "voiceprints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(50), nullable=True)
    model: Mapped[str] = mapped_column(String(100))
    dimension: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    speech_seconds: Mapped[float] = mapped_column()
    consent_given_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    consent_confirmed_by: Mapped[str] = mapped_column(String(200))
    consent_notice: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:  # never the embedding, never the name in logs
        return f"VoiceprintRow(id={self.id!r})"

    def to_voiceprint(self) -> Voiceprint:
        emb = np.frombuffer(self.embedding, dtype=np.float32).copy()
        return Voiceprint(self.id, self.name, self.role, emb, self.model)


@dataclass(frozen=True)
class VoiceprintInfo:
    """What may be listed about a voiceprint (no embedding)."""

    id: str
    name: str
    role: str | None
    speech_seconds: float
    consent_given_at: dt.datetime
    consent_confirmed_by: str
    created_at: dt.datetime


def enrolment_embedding(models, samples: np.ndarray) -> tuple[np.ndarray, float]:  # type: ignore[no-untyped-def]
    """Voiceprint embedding of one person's 5-30 s recording -> (unit vector, speech seconds).

    Speech is found with the segmentation model; a recording with a second voice in it (more
    than 15 % of the speech) or too little speech is refused with the reason.
    """
    from diarize.offline import OfflineDiarizer

    samples = np.asarray(samples, dtype=np.float32)
    seconds = len(samples) / SAMPLE_RATE
    if seconds > MAX_ENROL_AUDIO + 0.5:
        raise DiarizationError(
            f"the enrolment recording is {seconds:.0f} s long; at most {MAX_ENROL_AUDIO:.0f} s "
            "is accepted",
            fix="record 5-30 s of the person speaking alone",
        )
    result = OfflineDiarizer(models).analyse(samples)
    per_speaker: dict[str, float] = {}
    for t in result.turns:
        per_speaker[t.speaker] = per_speaker.get(t.speaker, 0.0) + t.duration
    speech = sum(per_speaker.values())
    if speech < MIN_ENROL_SPEECH:
        raise DiarizationError(
            f"the enrolment recording holds {speech:.1f} s of speech; "
            f"{MIN_ENROL_SPEECH:.0f} s is the minimum",
            fix="record the person reading or speaking for 5-30 s in a quiet room",
        )
    main = max(per_speaker, key=per_speaker.__getitem__)
    if per_speaker[main] < 0.85 * speech:
        raise DiarizationError(
            "the enrolment recording holds more than one voice",
            fix="record the person speaking alone",
        )
    # embed the main speaker's own speech, in 3 s pieces, and average the unit vectors
    embedder = models.embedder
    vectors = []
    for t in result.turns:
        if t.speaker != main:
            continue
        a, b = int(t.start * SAMPLE_RATE), int(t.end * SAMPLE_RATE)
        for lo in range(a, max(a + 1, b - SAMPLE_RATE), 3 * SAMPLE_RATE):
            piece = samples[lo : min(b, lo + 3 * SAMPLE_RATE)]
            if len(piece) >= SAMPLE_RATE:
                v = embedder.embed(piece)
                if not np.isnan(v).any():
                    vectors.append(v / np.linalg.norm(v))
    if not vectors:
        raise DiarizationError(
            "no usable speech was found in the enrolment recording",
            fix="record the person speaking for 5-30 s",
        )
    mean = np.mean(vectors, axis=0)
    return (mean / np.linalg.norm(mean)).astype(np.float32), per_speaker[main]


class VoiceprintStore:
    """Voiceprints in the database: enrol (with consent), list, load, delete."""

    def __init__(self, db: Database) -> None:
        self.db = db
        Base.metadata.create_all(db.engine, tables=[Base.metadata.tables[VoiceprintRow.__tablename__]])

    def enrol(
        self,
        *,
        name: str,
        role: str | None,
        embedding: np.ndarray,
        speech_seconds: float,
        consent: Consent | None,
        model: str = "campplus-zh-en",
    ) -> VoiceprintInfo:
        if consent is None:
            raise ConsentRequired(
                "a voiceprint is biometric data and needs the person's separate consent",
                fix="record the consent first (who confirmed it, the notice agreed to)",
            )
        consent.check()
        if not name.strip():
            raise DiarizationError("a voiceprint needs the person's name", fix="give --name")
        vec = np.asarray(embedding, dtype=np.float32).reshape(-1)
        row = VoiceprintRow(
            id=str(uuid.uuid4()),
            name=name.strip(),
            role=(role or None),
            model=model,
            dimension=int(vec.size),
            embedding=vec.tobytes(),
            speech_seconds=float(speech_seconds),
            consent_given_at=consent.given_at,
            consent_confirmed_by=consent.confirmed_by.strip(),
            consent_notice=consent.notice.strip(),
            created_at=utcnow(),
        )
        with self.db.transaction() as s:
            s.add(row)
        return _info(row)

    def list(self) -> list[VoiceprintInfo]:
        with self.db.transaction() as s:
            rows = s.scalars(select(VoiceprintRow).order_by(VoiceprintRow.created_at)).all()
            return [_info(r) for r in rows]

    def load(self, ids: Sequence[str] | None = None) -> builtins.list[Voiceprint]:
        """Voiceprints for a session (all, or the given ids)."""
        with self.db.transaction() as s:
            q = select(VoiceprintRow)
            if ids is not None:
                q = q.where(VoiceprintRow.id.in_(list(ids)))
            return [r.to_voiceprint() for r in s.scalars(q).all()]

    def delete(self, voiceprint_id: str) -> None:
        with self.db.transaction() as s:
            row = s.get(VoiceprintRow, voiceprint_id)
            if row is None:
                raise DiarizationError(
                    f"no voiceprint with id {voiceprint_id}",
                    fix="list them with `scribe voiceprints list`",
                )
            s.delete(row)


def _info(row: VoiceprintRow) -> VoiceprintInfo:
    return VoiceprintInfo(
        row.id,
        row.name,
        row.role,
        row.speech_seconds,
        row.consent_given_at,
        row.consent_confirmed_by,
        row.created_at,
    )


def match_voiceprints(
    centroids: dict[str, np.ndarray], voiceprints: Sequence[Voiceprint], threshold: float
) -> dict[str, str]:
    """Speaker label -> enrolled label, one-to-one, where cosine similarity >= threshold."""
    from scipy.optimize import linear_sum_assignment

    labels = [lab for lab in centroids if not np.isnan(centroids[lab]).any()]
    if not labels or not voiceprints:
        return {}
    a = np.stack([centroids[lab] / np.linalg.norm(centroids[lab]) for lab in labels])
    b = np.stack([vp.embedding / np.linalg.norm(vp.embedding) for vp in voiceprints])
    sims = a @ b.T
    rows, cols = linear_sum_assignment(sims, maximize=True)
    return {
        labels[r]: voiceprints[c].label for r, c in zip(rows, cols) if sims[r, c] >= threshold
    }
