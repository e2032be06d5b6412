"""Reader for ``brain-tumor-mri/{glioma,meningioma,pituitary}/<id>.jpg`` with YOLO ``<id>.txt`` boxes."""

from __future__ import annotations

from pathlib import Path

from ai.datasets.records import Record

TUMOUR_CLASSES: tuple[str, ...] = ("glioma", "meningioma", "pituitary")
IMAGE_SIZE = 512  # the shipped slices are 512 x 512
ID_BLOCK = 20  # neighbouring ids tend to be slices of one patient: keep blocks together in splits


def read_brain_tumor(root: Path) -> list[Record]:
    """All slices under ``root`` sorted by (class, numeric id); boxes in pixels of the 512² slice."""
    records: list[Record] = []
    for index, name in enumerate(TUMOUR_CLASSES):
        folder = Path(root) / name
        if not folder.is_dir():
            continue
        for image in sorted(folder.glob("*.jpg"), key=_numeric_stem):
            records.append(_record(image, name, index))
    return records


def _numeric_stem(path: Path) -> tuple[int, str]:
    stem = path.stem
    return (int(stem), stem) if stem.isdigit() else (1 << 30, stem)


def _record(image: Path, name: str, index: int) -> Record:
    boxes = _yolo_boxes(image.with_suffix(".txt"), IMAGE_SIZE, IMAGE_SIZE)
    block = _numeric_stem(image)[0] // ID_BLOCK
    return Record(
        id=image.stem,
        path=image,
        label=name,
        label_index=index,
        boxes=boxes,
        group=name,
        regions=("brain",),
        split_group=f"block{block}",
    )


def _yolo_boxes(path: Path, width: int, height: int) -> tuple[tuple[float, float, float, float], ...]:
    """YOLO ``class xc yc w h`` (normalised) lines → pixel ``(x0, y0, x1, y1)`` boxes."""
    if not path.is_file():
        return ()
    boxes = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue
        xc, yc, w, h = (float(v) for v in parts[1:])
        x0, y0 = (xc - w / 2) * width, (yc - h / 2) * height
        boxes.append((x0, y0, x0 + w * width, y0 + h * height))
    return tuple(boxes)
