"""What the one input path changed: the shipped 2D models on their test splits, read as the product
reads a PNG/JPEG now (viewer.core reader, stored dtype: uint8 ÷ 255 as in training) and as it read it
before issue 10 (float32, then stretched between the 0.5/99.5 percentiles).

    .venv/bin/python bench/input_paths.py

Prints, per model: cases, decisions/labels that differ between the two reads, and the metrics each
read gives (fracture: sensitivity and specificity at the card's operating point; tumour: accuracy).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ai.analysis import run_pipeline  # noqa: E402
from ai.datasets import read_brain_tumor, read_fracatlas  # noqa: E402
from ai.package import load_package  # noqa: E402
from viewer.analysis import read_image_input  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "labelled"
MODELS = REPO / "resources" / "models"


def test_ids(model: str) -> set[str]:
    with (MODELS / model / "split.csv").open(newline="") as fh:
        return {row["id"] for row in csv.DictReader(fh) if row["split"] == "test"}


def both_reads(package, path: Path, modality: str):
    """(result through the one path, result with the pixels widened to float32 as before)."""
    image = read_image_input(path, modality)
    old = replace(image, voxels=image.voxels.astype(np.float32))
    return run_pipeline(package, image, check_scope=False), run_pipeline(package, old, check_scope=False)


def fracture() -> None:
    package = load_package(MODELS / "fracture-radiograph")
    threshold = package.operating_point("fracture").threshold
    ids = test_ids(package.name)
    records = [r for r in read_fracatlas(DATA / "fracatlas") if r.id in ids]
    truth, now, before = [], [], []
    for record in records:
        new, old = both_reads(package, record.path, "DX")
        truth.append(record.label_index == 1)
        now.append(new.probabilities["fracture"])
        before.append(old.probabilities["fracture"])
    y, a, b = np.array(truth), np.array(now) >= threshold, np.array(before) >= threshold
    print(f"fracture-radiograph: {len(y)} test images, threshold {threshold}")
    print(f"  decisions that differ: {int((a != b).sum())}")
    for name, called in (("one path (now)", a), ("float32 read (before)", b)):
        print(f"  {name:22s} sensitivity {called[y].mean():.4f}  specificity {(~called[~y]).mean():.4f}")


def tumour() -> None:
    package = load_package(MODELS / "tumour-mri")
    ids = test_ids(package.name)
    records = [r for r in read_brain_tumor(DATA / "brain-tumor-mri") if r.id in ids]
    truth, now, before = [], [], []
    for record in records:
        new, old = both_reads(package, record.path, "MR")
        truth.append(record.label)
        now.append(new.label)
        before.append(old.label)
    y, a, b = np.array(truth), np.array(now), np.array(before)
    print(f"tumour-mri: {len(y)} test slices")
    print(f"  labels that differ: {int((a != b).sum())}")
    print(f"  one path (now) accuracy {(a == y).mean():.4f}; "
          f"float32 read (before) accuracy {(b == y).mean():.4f}")


if __name__ == "__main__":
    fracture()
    tumour()
