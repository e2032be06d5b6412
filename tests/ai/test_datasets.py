"""The labelled-data readers on the real sets under ../shared/data/labelled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai.datasets import (
    FRACTURE_CLASSES,
    REGIONS,
    TUMOUR_CLASSES,
    assign_splits,
    read_brain_tumor,
    read_fracatlas,
    read_lidc_vois,
    read_split_csv,
    write_split_csv,
)


def _folder(shared_data: Path, name: str) -> Path:
    path = shared_data / "labelled" / name
    if not path.is_dir():
        pytest.skip(f"labelled set not found at {path}")
    return path


def test_brain_tumor_records_boxes_and_pixels(shared_data: Path) -> None:
    records = read_brain_tumor(_folder(shared_data, "brain-tumor-mri"))
    assert len(records) == 2445
    counts = {name: sum(r.label == name for r in records) for name in TUMOUR_CLASSES}
    assert counts == {"glioma": 1139, "meningioma": 574, "pituitary": 732}
    rec = next(r for r in records if r.id == "1841")
    assert rec.label == "glioma" and rec.label_index == 0 and len(rec.boxes) == 1
    x0, y0, x1, y1 = rec.boxes[0]
    assert 0 <= x0 < x1 <= 512 and 0 <= y0 < y1 <= 512
    loaded = rec.load()
    assert loaded.array.shape == (512, 512) and loaded.array.dtype == np.uint8
    assert not loaded.has_geometry and loaded.spacing == (1.0, 1.0)
    # the box covers a brighter-than-background region (the enhancing tumour or its surroundings)
    inside = loaded.array[int(y0) : int(y1), int(x0) : int(x1)]
    assert inside.mean() > loaded.array.mean()


def test_fracatlas_regions_labels_and_boxes(shared_data: Path) -> None:
    records = read_fracatlas(_folder(shared_data, "fracatlas"))
    assert len(records) == 2241
    assert sum(r.label == "fractured" for r in records) == 564
    assert {r.label for r in records} == set(FRACTURE_CLASSES)
    assert all(set(r.regions) <= set(REGIONS) for r in records)
    assert {r.group for r in records} <= {*REGIONS, "mixed", "unknown"}
    with_boxes = [r for r in records if r.boxes]
    assert with_boxes and all(r.label == "fractured" for r in with_boxes)
    rec = next(r for r in records if r.id == "IMG0000019")
    assert rec.boxes == ((201.1, 146.5, 245.4, 169.7),)
    h, w = rec.load().array.shape
    assert (w, h) in ((373, 454), (454, 373))
    assert all(b[2] <= w + 1 and b[3] <= h + 1 for b in rec.boxes)


def test_lidc_vois_patients_masks_and_spacing(shared_data: Path) -> None:
    records = read_lidc_vois(_folder(shared_data, "lidc-nodule-vois"))
    assert len(records) == 775
    assert len({r.patient for r in records}) == 434
    rec = records[0]
    assert rec.id == "LIDC-IDRI-0001_R_1" and rec.patient == "LIDC-IDRI-0001"
    loaded = rec.load()
    assert loaded.array.shape == (11, 64, 53) and loaded.array.dtype == np.int16
    assert loaded.has_geometry and loaded.spacing == pytest.approx((2.5, 0.703125, 0.703125), abs=1e-4)
    assert loaded.mask is not None and loaded.mask.shape == loaded.array.shape and loaded.mask.any()
    assert loaded.array[loaded.mask].mean() > -300  # solid nodule, not air


def test_splits_keep_groups_together_and_round_trip(shared_data: Path, tmp_path: Path) -> None:
    records = read_lidc_vois(_folder(shared_data, "lidc-nodule-vois"))
    splits = assign_splits(records, seed=0)
    assert assign_splits(records, seed=0) == splits
    by_patient: dict[str, set[str]] = {}
    for rec in records:
        by_patient.setdefault(rec.patient or "", set()).add(splits[rec.id])
    assert all(len(s) == 1 for s in by_patient.values())
    fractions = [sum(v == s for v in splits.values()) / len(records) for s in ("train", "val", "test")]
    assert fractions == pytest.approx([0.7, 0.15, 0.15], abs=0.03)
    write_split_csv(tmp_path / "split.csv", records, splits)
    assert read_split_csv(tmp_path / "split.csv") == splits
