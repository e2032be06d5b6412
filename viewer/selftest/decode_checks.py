"""Every supported transfer syntax decodes, through the product's loader, to the same pixels.

The bundled files in ``resources/selftest/transfer-syntaxes/`` are one real CT crop stored
losslessly in each syntax; each must load to the voxels whose SHA-256 ``expectations.json`` holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from viewer.core.series_loader import load_series
from viewer.selftest.expectations import selftest_dir
from viewer.selftest.report import Check, run_check


def voxels_sha256(voxels: np.ndarray) -> str:
    """SHA-256 of the voxels as little-endian values of their dtype (the recorded reference)."""
    array = np.ascontiguousarray(voxels)
    return hashlib.sha256(array.astype(array.dtype.newbyteorder("<")).tobytes()).hexdigest()


def decode_checks(expected: dict[str, Any]) -> list[Check]:
    folder = selftest_dir() / "transfer-syntaxes"
    files = sorted(folder.glob("*.dcm"))
    if not files:
        return [Check("transfer syntaxes", False, f"no bundled files in {folder}")]
    return [run_check(f"decode {path.stem}", _decode(path, expected)) for path in files]


def _decode(path: Path, expected: dict[str, Any]) -> Callable[[], str]:
    def check() -> str:
        result = load_series(path)
        digest = voxels_sha256(result.volume.voxels)
        if list(result.volume.shape) != expected["shape"] or digest != expected["voxels_sha256"]:
            raise ValueError(f"decoded {result.volume.shape} pixels differ from the reference")
        syntax = _transfer_syntax(path)
        return f"{syntax}, {result.volume.shape[2]}x{result.volume.shape[1]} pixels identical"
    return check


def _transfer_syntax(path: Path) -> str:
    import pydicom

    return str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID.name)
