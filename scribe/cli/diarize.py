"""``scribe diarize AUDIO -o out.rttm`` and ``scribe voiceprints enrol|list|delete``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

console = Console(stderr=True)

voiceprints_app = typer.Typer(
    help="Enrolled voices (biometric data): enrol with recorded consent, list, delete.",
    no_args_is_help=True,
)


def diarize(
    audio: Annotated[Path, typer.Argument(help="audio file: wav, flac, mp3, m4a, ogg; any rate or channels")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="RTTM file to write; default: print to stdout")] = None,
    num_speakers: Annotated[Optional[int], typer.Option(min=1, help="the number of speakers, when known")] = None,
    min_speakers: Annotated[Optional[int], typer.Option(min=1, help="at least this many speakers")] = None,
    max_speakers: Annotated[Optional[int], typer.Option(min=1, help="at most this many speakers")] = None,
    voiceprints: Annotated[bool, typer.Option("--voiceprints", help="label enrolled people by name (see `scribe voiceprints`)")] = False,
    allow_truncated: Annotated[bool, typer.Option(help="use the readable part of a damaged or truncated file")] = False,
) -> None:
    """Who spoke when: speaker turns of a recording as RTTM (说话人1, 说话人2, ...; overlapping
    speech gives overlapping turns)."""
    from diarize import match_voiceprints
    from diarize.labels import relabel
    from diarize.offline import check_speaker_bounds
    from diarize.rttm import format_rttm, write_rttm
    from scribe.audio import decode_audio
    from scribe.models import open_store
    from scribe.services import load_diarization, offline_diarizer
    from scribe.settings import get_settings

    check_speaker_bounds(num_speakers, min_speakers, max_speakers)
    settings = get_settings()
    store = open_store(settings)
    decoded = decode_audio(audio, allow_truncated=allow_truncated)
    diarizer = offline_diarizer(settings, load_diarization(settings, store))
    result = diarizer.analyse(
        decoded.samples, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
    )
    turns = list(result.turns)
    if voiceprints:
        known = _store(settings).load()
        from diarize import StreamingOptions

        # the live diarizer's bar, so a voice is recognised alike live and offline
        bar = StreamingOptions.from_settings(settings).voiceprint_similarity
        mapping = match_voiceprints(result.centroids, known, bar)
        turns = relabel(turns, mapping)
    if output is None:
        sys.stdout.write(format_rttm(turns, audio.stem))
    else:
        write_rttm(turns, output, audio.stem)
        speakers = len({t.speaker for t in turns})
        console.print(f"{audio.name}: {decoded.duration:.1f} s, {speakers} speakers, {len(turns)} turns -> {output}")


def _store(settings):  # type: ignore[no-untyped-def]
    from diarize.voiceprints import VoiceprintStore
    from scribe.storage import Database

    return VoiceprintStore(Database(settings.db_url, key_file=settings.secrets_key_path))


@voiceprints_app.command("enrol")
def enrol(
    audio: Annotated[Path, typer.Argument(help="5-30 s of the person speaking alone")],
    name: Annotated[str, typer.Option(help="the person's name as the record should show it")],
    consent_by: Annotated[str, typer.Option(help="staff member who witnessed the person's consent")],
    notice: Annotated[str, typer.Option(help="the notice the person agreed to (purpose, retention, rights)")],
    consent: Annotated[bool, typer.Option("--consent", help="confirm the person gave separate consent to storing their voiceprint")] = False,
    role: Annotated[Optional[str], typer.Option(help="调解员, 申请人, 被申请人, 代理人, 记录人, 咨询人, 接待人, 当事人, 其他")] = None,
    office: Annotated[Optional[str], typer.Option(help="the office whose hearings may recognise this voice (default: every hearing on this machine)")] = None,
) -> None:
    """Enrol a voice so live and offline diarization label it with the person's name."""
    from diarize import Consent, ConsentRequired, enrolment_embedding
    from scribe.services import load_diarization
    from diarize.roles import ROLES
    from scribe.audio import decode_audio
    from scribe.errors import DiarizationError
    from scribe.models import open_store
    from scribe.settings import get_settings

    if not consent:
        raise ConsentRequired(
            "a voiceprint is biometric data: it is stored only with the person's separate consent",
            fix="ask the person, then run again with --consent",
        )
    if role is not None and role not in ROLES:
        raise DiarizationError(f"unknown role {role!r}", fix="use one of: " + "、".join(ROLES))
    settings = get_settings()
    samples = decode_audio(audio).samples
    models = load_diarization(settings)
    embedding, seconds = enrolment_embedding(models, samples)
    info = _store(settings).enrol(
        name=name,
        role=role,
        embedding=embedding,
        speech_seconds=seconds,
        consent=Consent(dt.datetime.now(dt.timezone.utc), consent_by, notice),
        model=settings.diarize.embedding_model,
    )
    from scribe.cli._db import open_database
    from scribe.privacy.voiceprints import assign

    db = open_database(settings)
    assign(db, info.id, office)
    with db.transaction() as tx:
        from scribe.accounts import audit
        from scribe.accounts.audit import Action

        audit.record(tx, _cli_actor(), Action.CREATE, "voiceprint", info.id, office=office)
    console.print(f"enrolled voiceprint {info.id} from {seconds:.1f} s of speech")


def _cli_actor() -> str:
    """How the audit log names whoever runs the command (the machine's account, no secret)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container)
        import os

        return f"cli:uid{os.getuid()}"


@voiceprints_app.command("list")
def list_voiceprints() -> None:
    """Enrolled voices: id, name, role, when consent was given and who confirmed it."""
    from scribe.cli._db import open_database
    from scribe.privacy.voiceprints import listing
    from scribe.accounts.principal import ALL_OFFICES, Principal, Role, Scope
    from scribe.settings import get_settings

    operator = Principal("user", 0, "cli", ALL_OFFICES, frozenset(Scope), Role.ADMIN)  # this machine's operator
    for v in listing(open_database(get_settings()), operator):
        print(
            f"{v.id}\t{v.name}\t{v.role or '-'}\t{v.speech_seconds:.1f}s\t"
            f"consent {v.consent_given_at:%Y-%m-%d %H:%M} by {v.consent_confirmed_by}\t{v.office or '*'}"
        )


@voiceprints_app.command("delete")
def delete_voiceprint(
    voiceprint_id: Annotated[str, typer.Argument(help="id from `scribe voiceprints list`")],
) -> None:
    """Delete a voiceprint for good (the person withdrew consent, or it is no longer needed)."""
    from scribe.cli._db import open_database
    from scribe.privacy.voiceprints import delete
    from scribe.settings import get_settings

    delete(open_database(get_settings()), _cli_actor(), voiceprint_id)  # audited, as from the web
    console.print(f"deleted voiceprint {voiceprint_id}")


def register(app: typer.Typer) -> None:
    app.command("diarize")(diarize)
    app.add_typer(voiceprints_app, name="voiceprints")
