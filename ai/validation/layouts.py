"""Recognise a labelled folder's layout and pick the cases to validate on.

Layouts (as under ``../shared/data/labelled``), each read by its ``ai.datasets`` reader:

- ``fracatlas``: ``images/{Fractured,Non_fractured}/*.jpg`` (+ ``dataset.csv``, ``boxes_staged.csv``)
  → target ``fracture``; subgroups = body regions.
- ``brain-tumor-mri``: ``{glioma,meningioma,pituitary}/*.jpg`` + YOLO ``*.txt`` → target ``tumour``;
  subgroups = tumour type.
- ``br35h``: ``yes/*.jpg`` (+ YOLO ``*.txt``) and ``no/*.jpg`` → target ``tumour``, measured as
  presence (``presence_*`` metrics) with boxes on the tumours; subgroups = tumour / no tumour.
- ``lidc-nodule-vois``: ``voi_index.csv`` + ``image/*.nii.gz`` (+ ``nodule_mask/``) → target ``nodule``;
  subgroups = size band; bootstrap resamples patients.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ai.datasets import Record, read_br35h, read_brain_tumor, read_fracatlas, read_lidc_vois

TUMOUR_FOLDERS = ("glioma", "meningioma", "pituitary")


class LayoutError(ValueError):
    """The folder is not a labelled layout RadSight can validate on (or holds no case)."""


@dataclass(frozen=True)
class Layout:
    """A recognised layout: its name, the model target it validates, and how to read it."""

    name: str
    target: str
    read: Callable[[Path], list[Record]]
    caveat: str
    modality: str
    metric_prefix: str = ""

    def subgroups(self, record: Record) -> tuple[str, ...]:
        """Breakdown labels of a record: body regions on FracAtlas, else the reader's group."""
        if self.name == "fracatlas":
            return record.regions or ((record.group,) if record.group else ())
        return (record.group,) if record.group else ()


FRACATLAS = Layout(
    "fracatlas", "fracture", read_fracatlas,
    "no patient IDs: several images may come from one patient, so intervals are optimistic", "DX")
BRAIN_TUMOR = Layout(
    "brain-tumor-mri", "tumour", read_brain_tumor,
    "no patient IDs (slices of one patient are correlated) and no tumour-free slices", "MR")
BR35H = Layout(
    "br35h", "tumour", read_br35h,
    "no patient IDs (slices of one patient are correlated); mixed sequences; near-duplicates removed; "
    "licence not stated by the source", "MR", metric_prefix="presence_")
LIDC_VOIS = Layout(
    "lidc-nodule-vois", "nodule", read_lidc_vois,
    "crop mode (nodule crops, not whole scans; whole-scan mode takes a folder of full series with LIDC "
    "XML): each crop is scored at its nodule and at up to 4 structure points "
    "away from it, so fp_per_scan is per crop on those points, not a whole-scan rate", "CT")


def detect_layout(root: str | Path) -> Layout:
    """The layout of ``root``; :class:`LayoutError` with the reason when there is none."""
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(f"data folder not found: {root}")
    if not any(root.iterdir()):
        raise LayoutError(f"data folder is empty: {root}")
    if any((root / "images" / sub).is_dir() for sub in ("Fractured", "Non_fractured")):
        return FRACATLAS
    if (root / "voi_index.csv").is_file() and (root / "image").is_dir():
        return LIDC_VOIS
    if any((root / sub).is_dir() for sub in TUMOUR_FOLDERS):
        return BRAIN_TUMOR
    if (root / "yes").is_dir() and (root / "no").is_dir():
        return BR35H
    raise LayoutError(
        f"unrecognised layout in {root}: expected fracatlas (images/Fractured, images/Non_fractured), "
        f"brain-tumor-mri ({'/, '.join(TUMOUR_FOLDERS)}/), br35h (yes/, no/) or lidc-nodule-vois "
        "(voi_index.csv + image/)"
    )


def read_subset_ids(path: str | Path, split: str | None = None) -> list[str]:
    """Case ids from a CSV with an ``id`` column (e.g. a model's ``split.csv``); ``split`` filters rows."""
    with Path(path).open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and "id" not in rows[0]:
        raise LayoutError(f"subset file {path} has no 'id' column")
    if split is not None:
        rows = [r for r in rows if r.get("split") == split]
    return [r["id"] for r in rows]


def evenly_spaced(records: list[Record], limit: int | None) -> list[Record]:
    """At most ``limit`` records spread evenly through the sorted list (so every class folder is drawn)."""
    if limit is None or limit >= len(records):
        return records
    picks = np.unique(np.linspace(0, len(records) - 1, max(limit, 0)).round().astype(int))
    return [records[i] for i in picks]


def select_cases(layout: Layout, root: str | Path, subset: list[str] | None = None,
                 limit: int | None = None) -> list[Record]:
    """Read the folder, keep the subset's ids (in reader order), then apply ``limit``."""
    records = layout.read(Path(root))
    if subset is not None:
        wanted = set(subset)
        records = [r for r in records if r.id in wanted]
    records = evenly_spaced(records, limit)
    if not records:
        raise LayoutError(f"no cases to validate in {root} ({layout.name} layout"
                          + (", after the subset file" if subset is not None else "") + ")")
    return records
