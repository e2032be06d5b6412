"""Plain PNG/JPEG images (referral pictures, labelled data sets) as 2D volumes without geometry.

Such an image has no pixel spacing: its `Volume` has ``has_geometry=False`` and spacing
(1, 1, 1) in *pixels*, so no length is ever shown in mm for it. Its series and study UIDs are
derived from the file's bytes (``2.25.<integer>``, as for UUID-derived UIDs), so the same image
has the same UIDs in every session (the AI feedback database keys findings by series UID).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from viewer.core.volume import Volume
from viewer.core.windowing import Window

RASTER_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
#: What a reader may declare a plain image to show (DICOM Modality → words).
DECLARABLE_KINDS = {"DX": "radiograph", "MR": "MR slice"}


class RasterImageError(Exception):
    """The file could not be decoded as an image."""


class UndeclarableImageError(ValueError):
    """Only a plain image of unknown kind can be declared; the message says why."""


def declare_modality(volume: Volume, modality: str) -> Volume:
    """The same plain image with the kind a reader declared (``"DX"`` or ``"MR"``).

    A PNG/JPEG (or a DICOM "OT" image) does not say what it shows, so no model is run on it
    until a reader declares it; the declaration is kept in the volume's warnings.
    """
    modality = modality.upper()
    if modality not in DECLARABLE_KINDS:
        known = ", ".join(f"{m} ({w})" for m, w in DECLARABLE_KINDS.items())
        raise UndeclarableImageError(f"cannot declare an image as {modality!r}; choose {known}")
    if volume.modality != "OT":
        raise UndeclarableImageError(f"the image already says it is {volume.modality}")
    note = f"image kind declared by the reader: {DECLARABLE_KINDS[modality]} ({modality})"
    return volume.with_voxels(volume.voxels, modality=modality, warnings=volume.warnings + (note,))


def read_raster_image(path: Path) -> np.ndarray:
    """Greyscale pixel values in the stored depth: uint8 for 8-bit images (colour converted to
    luminance by Pillow's ITU-R 601-2 "L" conversion), uint16 for 16-bit ones.

    The dtype is kept, not widened to float: AI models read an 8-bit image as the value / 255 they
    were trained on, which a float array would no longer say.
    """
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode.startswith("I;16"):
                return np.asarray(image.convert("I;16"), dtype=np.uint16)
            return np.asarray(image.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise RasterImageError(f"cannot decode image: {exc}") from exc


def content_uid(path: Path, salt: str) -> str:
    """A stable DICOM UID (``2.25.`` + a 128-bit integer) from the file's bytes and ``salt``."""
    digest = hashlib.sha256(salt.encode() + Path(path).read_bytes()).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def load_raster_volume(path: Path) -> Volume:
    pixels = read_raster_image(path)
    maximum = 65535.0 if pixels.max() > 255 else 255.0
    return Volume(
        voxels=pixels[np.newaxis],
        spacing=(1.0, 1.0, 1.0),
        modality="OT",
        has_geometry=False,
        default_window=Window(maximum / 2, maximum, "full range"),
        series_description=path.name,
        series_instance_uid=content_uid(path, "series"),
        study_instance_uid=content_uid(path, "study"),
        warnings=("plain image without DICOM geometry: sizes are in pixels, not mm",),
    )
