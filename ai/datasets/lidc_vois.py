"""Reader for ``lidc-nodule-vois``: HU crops (NIfTI), nodule masks, a row per crop in ``voi_index.csv``."""

from __future__ import annotations

import csv
from pathlib import Path

from ai.datasets.records import Record

NODULE_CLASSES: tuple[str, ...] = ("background", "nodule")


def read_lidc_vois(root: Path) -> list[Record]:
    """One record per crop listed in ``voi_index.csv`` whose image exists, sorted by voi name.

    Every crop contains a nodule (label ``nodule``); ``patient`` is the LIDC patient id (split by it);
    ``group`` is ``"<10mm"`` or ``">=10mm"`` by diameter; ``extra`` keeps diameter, malignancy, spacing.
    ``boxes`` is empty: the lesion is given by ``Loaded.mask``.
    """
    root = Path(root)
    records = []
    with (root / "voi_index.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            image = root / "image" / f"{row['voi']}.nii.gz"
            if image.is_file():
                records.append(_record(root, image, row))
    return sorted(records, key=lambda r: r.id)


def _record(root: Path, image: Path, row: dict[str, str]) -> Record:
    mask = root / "nodule_mask" / image.name
    diameter = float(row["diameter_mm"])
    return Record(
        id=row["voi"],
        path=image,
        label=NODULE_CLASSES[1],
        label_index=1,
        group="<10mm" if diameter < 10 else ">=10mm",
        regions=("chest",),
        patient=row["patient_id"],
        split_group=row["patient_id"],
        mask_path=mask if mask.is_file() else None,
        extra={k: row[k] for k in ("diameter_mm", "malignancy", "diagnosis", "spacing_mm", "nodule_id")},
    )
