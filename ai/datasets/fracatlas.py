"""Reader for the FracAtlas layout: ``images/{Fractured,Non_fractured}/*.jpg``, ``dataset.csv``, boxes."""

from __future__ import annotations

import csv
from pathlib import Path

from ai.datasets.records import Record

FRACTURE_CLASSES: tuple[str, ...] = ("non_fractured", "fractured")
REGIONS: tuple[str, ...] = ("hand", "leg", "hip", "shoulder")
_FOLDERS = {"Non_fractured": 0, "Fractured": 1}
_VIEW_FLAGS = ("hardware", "multiscan", "frontal", "lateral", "oblique")
ID_BLOCK = 10  # neighbouring ids are often views of one patient: keep blocks together in splits


def read_fracatlas(root: Path) -> list[Record]:
    """One record per image present on disk, sorted by id.

    ``regions`` lists the body-region flags of ``dataset.csv`` that are set; ``group`` is the single
    region, or ``"mixed"`` where the image shows several. Boxes come from ``boxes_staged.csv`` (pixels
    of the shipped image).
    """
    root = Path(root)
    flags = _read_flags(root / "dataset.csv")
    boxes = _read_boxes(root / "boxes_staged.csv")
    records = []
    for folder, index in _FOLDERS.items():
        for image in sorted((root / "images" / folder).glob("*.jpg")):
            records.append(_record(image, index, flags.get(image.name, {}), boxes.get(image.name, [])))
    return sorted(records, key=lambda r: r.id)


def _record(image: Path, index: int, flags: dict[str, str], boxes: list) -> Record:
    regions = tuple(r for r in REGIONS if flags.get(r) == "1")
    group = regions[0] if len(regions) == 1 else ("mixed" if regions else "unknown")
    digits = "".join(ch for ch in image.stem if ch.isdigit())
    block = int(digits) // ID_BLOCK if digits else 0
    extra = {k: v for k, v in flags.items() if k in _VIEW_FLAGS}
    return Record(
        id=image.stem,
        path=image,
        label=FRACTURE_CLASSES[index],
        label_index=index,
        boxes=tuple(boxes),
        group=group,
        regions=regions,
        split_group=f"block{block}",
        extra=extra,
    )


def _read_flags(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        return {row["image_id"]: row for row in csv.DictReader(fh)}


def _read_boxes(path: Path) -> dict[str, list[tuple[float, float, float, float]]]:
    out: dict[str, list[tuple[float, float, float, float]]] = {}
    if not path.is_file():
        return out
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            box = (float(row["x0"]), float(row["y0"]), float(row["x1"]), float(row["y1"]))
            out.setdefault(row["image_id"], []).append(box)
    return out
