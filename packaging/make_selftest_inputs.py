"""Builds the self-test's bundled inputs in resources/selftest/ (run from the repository root).

* ``radiograph-fracatlas-IMG0000599.jpg``: a FracAtlas radiograph from the fracture model's test
  split (CC BY 4.0), copied byte for byte from ../shared/data.
* ``mri-brain-tumor-meningioma-134.jpg``: a brain-tumour MRI slice from the tumour model's test
  split (CC BY 4.0), copied byte for byte.
* ``transfer-syntaxes/*.dcm``: one 64 x 64 crop of a bundled sample CT slice (LIDC-IDRI-0314,
  CC BY 3.0) stored in every transfer syntax the reader supports, made with dcmtk (dcmconv,
  dcmcrle, dcmcjpeg, dcmcjpls) and pydicom (JPEG 2000); all lossless, so all decode to one array.

Then run packaging/make_selftest_expectations.py to record the expected results.

    .venv/bin/python packaging/make_selftest_inputs.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
from pydicom.uid import ImplicitVRLittleEndian, JPEG2000Lossless

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "labelled"
TARGET = REPO / "resources" / "selftest"
COPIES = {
    "radiograph-fracatlas-IMG0000599.jpg": DATA / "fracatlas/images/Fractured/IMG0000599.jpg",
    "mri-brain-tumor-meningioma-134.jpg": DATA / "brain-tumor-mri/meningioma/134.jpg",
}
SOURCE_SLICE = REPO / "resources/sample/lidc-idri-0314-nodule-slab/000008.dcm"
CROP = (slice(224, 288), slice(160, 224))  # rows, columns: lung and chest wall
# name → dcmtk command (input, output appended); the reference is implicit VR little endian
DCMTK = {
    "explicit-little-endian.dcm": ["dcmconv", "+te"],
    "explicit-big-endian.dcm": ["dcmconv", "+tb"],
    "deflated-explicit-little-endian.dcm": ["dcmconv", "+td"],
    "rle-lossless.dcm": ["dcmcrle"],
    "jpeg-lossless-sv1.dcm": ["dcmcjpeg", "+e1"],
    "jpeg-ls-lossless.dcm": ["dcmcjpls"],
}
REFERENCE = "implicit-little-endian.dcm"


def make_reference(out: Path) -> None:
    ds = pydicom.dcmread(SOURCE_SLICE)
    pixels = ds.pixel_array[CROP].copy()
    ds.decompress()
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelData = pixels.tobytes()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.SeriesInstanceUID = pydicom.uid.generate_uid(entropy_srcs=["radsight-selftest-ts"])
    ds.SeriesDescription = "RadSight self-test transfer syntaxes"
    ds.save_as(out, enforce_file_format=True)


def make_variants(folder: Path) -> None:
    reference = folder / REFERENCE
    for name, command in DCMTK.items():
        subprocess.run([*command, str(reference), str(folder / name)], check=True)
    ds = pydicom.dcmread(reference)
    ds.compress(JPEG2000Lossless)
    ds.save_as(folder / "jpeg2000-lossless.dcm", enforce_file_format=True)


def main() -> int:
    missing = [str(p) for p in [*COPIES.values(), SOURCE_SLICE] if not p.is_file()]
    if missing:
        print(f"source files not found: {', '.join(missing)}", file=sys.stderr)
        return 1
    folder = TARGET / "transfer-syntaxes"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, source in COPIES.items():
        shutil.copyfile(source, TARGET / name)
    make_reference(folder / REFERENCE)
    make_variants(folder)
    print(f"wrote {len(COPIES)} images and {len(list(folder.glob('*.dcm')))} DICOM files under {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
