"""Make torchaudio importable next to a CPU-only torch (see ../shared/docs/models.md).

The registry's torchaudio wheel is a CUDA build: its compiled extension links libc10_cuda.so,
which a CPU torch does not ship, so ``import torchaudio`` fails. pyannote.audio only uses
torchaudio's pure-Python parts (resample, kaldi fbank, MFCC), and torchaudio skips its extension
when the library file is absent. So: if the extension cannot be loaded, remove it (idempotent).
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
from pathlib import Path


def main() -> int:
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or spec.origin is None:
        print("torchaudio not installed: nothing to do")
        return 0
    import torch  # noqa: F401  (loads libtorch so only CUDA symbols can be missing)

    lib = Path(spec.origin).parent / "lib"
    removed = []
    for so in sorted(lib.glob("*.so")):
        try:
            ctypes.CDLL(str(so))
        except OSError as exc:
            if "cuda" not in str(exc).lower():
                print(f"{so.name} fails to load for another reason: {exc}", file=sys.stderr)
                return 1
            so.unlink()
            removed.append(so.name)
    # libtorchaudio is loaded only after _torchaudio; without _torchaudio it is never used.
    if (lib / "_torchaudio.abi3.so").exists() is False:
        for so in lib.glob("*.so"):
            so.unlink()
            removed.append(so.name)
    print("torchaudio: removed CUDA-only extension(s): " + (", ".join(removed) or "none needed"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
