"""Reader for the Br35H layout: ``br35h/yes/<id>.jpg`` (+ YOLO ``<id>.txt`` box) and ``br35h/no/<id>.jpg``."""

from __future__ import annotations

from pathlib import Path

from ai.datasets.records import Record

PRESENCE_CLASSES: tuple[str, ...] = ("no tumour", "tumour")
ID_BLOCK = 10  # neighbouring ids may be slices of one patient: keep blocks together in splits
_FOLDERS = {"no": 0, "yes": 1}


def read_br35h(root: Path) -> list[Record]:
    """One record per slice under ``root/{no,yes}``, sorted by (label, id); boxes in pixels."""
    records: list[Record] = []
    for folder, index in _FOLDERS.items():
        for image in sorted((Path(root) / folder).glob("*.jpg"), key=_key):
            records.append(_record(image, index))
    return records


def _key(path: Path) -> tuple[str, int, str]:
    prefix, digits = _split_id(path.stem)
    return prefix, int(digits) if digits else 0, path.stem


def _split_id(stem: str) -> tuple[str, str]:
    digits = "".join(ch for ch in stem.rsplit("_", 1)[-1] if ch.isdigit())
    return stem.rsplit("_", 1)[0], digits


def _record(image: Path, index: int) -> Record:
    prefix, digits = _split_id(image.stem)
    block = int(digits) // ID_BLOCK if digits else 0
    return Record(
        id=image.stem,
        path=image,
        label=PRESENCE_CLASSES[index],
        label_index=index,
        boxes=_yolo_boxes(image) if index else (),
        group="tumour" if index else "no tumour",
        regions=("brain",),
        split_group=f"{prefix}-block{block}",
    )


def _yolo_boxes(image: Path) -> tuple[tuple[float, float, float, float], ...]:
    """YOLO ``class xc yc w h`` (normalised to this image) → pixel ``(x0, y0, x1, y1)``."""
    txt = image.with_suffix(".txt")
    if not txt.is_file():
        return ()
    from PIL import Image

    with Image.open(image) as img:
        width, height = img.size
    boxes = []
    for line in txt.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5:
            xc, yc, w, h = (float(v) for v in parts[1:])
            boxes.append(
                ((xc - w / 2) * width, (yc - h / 2) * height, (xc + w / 2) * width, (yc + h / 2) * height)
            )
    return tuple(boxes)
