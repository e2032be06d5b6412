"""Plain images get stable, valid DICOM UIDs from their bytes (the feedback database keys on them)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from viewer.core.series_loader import load_series


def test_same_bytes_same_uids_other_bytes_other_uids(tmp_path: Path) -> None:
    pixels = (np.arange(64 * 48) % 251).astype(np.uint8).reshape(48, 64)
    first = tmp_path / "a.png"
    Image.fromarray(pixels).save(first)
    copy = tmp_path / "renamed-copy.png"
    shutil.copy(first, copy)
    other = tmp_path / "b.png"
    Image.fromarray(255 - pixels).save(other)
    a, a_again, b = (load_series(p).volume for p in (first, copy, other))
    assert (a.series_instance_uid, a.study_instance_uid) == (a_again.series_instance_uid,
                                                             a_again.study_instance_uid)
    assert a.series_instance_uid != b.series_instance_uid != a.study_instance_uid
    for uid in (a.series_instance_uid, a.study_instance_uid):
        assert re.fullmatch(r"2\.25\.[1-9][0-9]*", uid) and len(uid) <= 64
