"""The record type every labelled-data reader yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Loaded:
    """Pixels of one record: ``array`` is (H, W) for 2D or (D, H, W) for 3D (index order k, j, i).

    ``spacing`` is (dj, di) or (dk, dj, di) in mm when ``has_geometry`` is True, else 1.0 per pixel.
    ``mask`` is the lesion mask on the same grid where the source has one.
    """

    array: np.ndarray
    spacing: tuple[float, ...]
    has_geometry: bool
    mask: np.ndarray | None = None
    origin: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Record:
    """One labelled image or crop.

    - ``id``: unique within its data set (file stem).
    - ``label``: class name (one of the reader's ``*_CLASSES``); ``label_index`` its position there.
    - ``boxes``: lesion boxes in pixels of the loaded array, ``(x0, y0, x1, y1)`` each.
    - ``group``: subgroup for breakdowns (tumour type, body region, malignancy band).
    - ``regions``: every group flag that applies (FracAtlas images can show several regions).
    - ``patient``: patient identifier where the source has one, else None (image-level only).
    - ``split_group``: the unit a split must keep together (patient, or a block of neighbouring ids).
    """

    id: str
    path: Path
    label: str
    label_index: int
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    group: str = ""
    regions: tuple[str, ...] = ()
    patient: str | None = None
    split_group: str = ""
    mask_path: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def load(self) -> Loaded:
        """Read the pixels (and mask where present)."""
        if self.path.suffix.lower() in (".jpg", ".jpeg", ".png"):
            return _load_2d(self.path)
        return _load_nifti(self.path, self.mask_path)


def _load_2d(path: Path) -> Loaded:
    from PIL import Image

    with Image.open(path) as img:
        array = np.asarray(img.convert("L"), dtype=np.uint8)
    return Loaded(array=array, spacing=(1.0, 1.0), has_geometry=False)


def _load_nifti(path: Path, mask_path: Path | None) -> Loaded:
    import SimpleITK as sitk

    img = sitk.ReadImage(str(path))
    array = sitk.GetArrayFromImage(img)
    spacing = tuple(float(s) for s in reversed(img.GetSpacing()))
    origin = tuple(float(s) for s in reversed(img.GetOrigin()))
    mask = None
    if mask_path is not None and mask_path.is_file():
        mask = sitk.GetArrayFromImage(sitk.ReadImage(str(mask_path))) > 0
    return Loaded(array=array, spacing=spacing, has_geometry=True, mask=mask, origin=origin)
