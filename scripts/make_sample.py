"""Build the bundled sample study (resources/sample/) from ../shared/data.

A 48-slice slab of LIDC-IDRI-0314 around its annotated nodule (z ≈ −529…−511 mm), re-encoded
losslessly as JPEG 2000 (pydicom + pylibjpeg-openjpeg). All tags are kept; pixel values are
bit-identical to the source (checked here after writing). Run from the repository root:

    .venv/bin/python scripts/make_sample.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import JPEG2000Lossless

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "dicom" / "lidc-idri-0314"
TARGET = REPO / "resources" / "sample" / "lidc-idri-0314-nodule-slab"
Z_RANGE = (-544.0, -497.0)


def main() -> int:
    if not SOURCE.is_dir():
        print(f"source data not found at {SOURCE}", file=sys.stderr)
        return 1
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.mkdir(parents=True)
    written = 0
    for path in sorted((SOURCE / "series").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        if not Z_RANGE[0] <= float(ds.ImagePositionPatient[2]) <= Z_RANGE[1]:
            continue
        original = ds.pixel_array.copy()
        ds.compress(JPEG2000Lossless)
        out = TARGET / path.name
        ds.save_as(out, enforce_file_format=True)
        assert np.array_equal(pydicom.dcmread(out).pixel_array, original), path.name
        written += 1
    shutil.copy(SOURCE / "annotations" / "contours.csv", TARGET.parent / "nodule_contours.csv")
    size = sum(p.stat().st_size for p in TARGET.iterdir()) / 1e6
    print(f"wrote {written} slices, {size:.1f} MB, to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
