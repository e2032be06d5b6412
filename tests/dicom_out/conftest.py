"""Fixtures for the DICOM results tests: LIDC-0314 loaded once, with a real nodule mask (one
radiologist's contours from the LIDC annotations, rasterised on the real series)."""

from __future__ import annotations

import csv
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ai.findings import Finding
from viewer.core.dicom_index import index_path
from viewer.core.series_loader import load_series
from viewer.core.volume import Volume
from viewer.dicom_out.source import SourceSeries, read_source

READER = "2295"  # the LIDC annotation (one radiologist) whose contours make the mask


@dataclass(frozen=True)
class Lidc:
    volume: Volume
    source: SourceSeries
    files: list[Path]
    mask: np.ndarray  # full-volume bool mask of the nodule


@pytest.fixture(scope="module")
def lidc(lidc_dir: Path) -> Lidc:
    record = index_path(lidc_dir).series[0]
    volume = load_series(record).volume
    contours = lidc_dir.parent / "annotations" / "contours.csv"
    return Lidc(volume, read_source(record.files, volume), record.files, reader_mask(contours, volume))


def reader_mask(contours: Path, volume: Volume) -> np.ndarray:
    """One reader's polygons (x = column, y = row) filled on the slices whose z matches."""
    mask = np.zeros(volume.shape, dtype=bool)
    z_of_slice = np.array([volume.slice_position(k)[2] for k in range(volume.shape[0])])
    with contours.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["annotation_id"] != READER:
                continue
            k = int(np.argmin(np.abs(z_of_slice - float(row["image_z_position"]))))
            assert abs(z_of_slice[k] - float(row["image_z_position"])) < 0.01
            points = [tuple(int(v) for v in p.split(",")) for p in row["coords"].split()]
            plane = Image.new("1", (volume.shape[2], volume.shape[1]))
            ImageDraw.Draw(plane).polygon(points, fill=1, outline=1)
            filled = np.asarray(plane, dtype=bool)
            mask[k] = mask[k] | filled if row["inclusion"] == "1" else mask[k] & ~filled
    assert mask.any()
    return mask


def masked_finding(volume: Volume, full_mask: np.ndarray, **changes) -> Finding:
    """A nodule finding whose box is the mask's bounding box and whose mask is its crop."""
    nz = np.argwhere(full_mask)
    lo, hi = nz.min(axis=0), nz.max(axis=0) + 1
    center = (lo + hi - 1) / 2.0
    values = dict(model="nodule-ct", model_version="1.2.0", label="nodule", score=0.87,
                  passes_operating_point=True, threshold=0.5,
                  center_kji=tuple(float(v) for v in center),
                  center_mm=tuple(float(v) for v in volume.index_to_patient(center)),
                  size_mm=tuple(float(v) for v in (hi - lo) * np.asarray(volume.spacing)),
                  box_kji=tuple(float(v) for v in (*lo, *hi)),
                  mask=full_mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].copy(),
                  explanation_method="grad-cam", series_instance_uid=volume.series_instance_uid)
    values.update(changes)
    return Finding(**values)


def dciodvfy_errors(path: Path) -> list[str]:
    """The error lines dicom3tools' validator prints for a file (warnings are not errors)."""
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=120)
    lines = (run.stdout + run.stderr).splitlines()
    assert any(line.strip() for line in lines), "dciodvfy printed nothing"
    return [line for line in lines if line.startswith(("Error", "Abort"))]
