"""The one input path: a file → the product's readers (``viewer.core``) → :class:`ai.image.ImageInput`.

Every consumer (viewer, ``analyze``, ``snapshot --analyze``, ``validate``) builds the model's input
here, so a plain PNG/JPEG keeps its stored dtype (uint8 stays uint8 and the pipeline divides it by
255, as the model was trained) whoever reads it.
"""

from __future__ import annotations

from pathlib import Path

from ai.image import ImageInput
from viewer.core.raster_image import declare_modality, load_raster_volume
from viewer.core.volume import Volume


def image_input(volume: Volume, body_part: str | None = None) -> ImageInput:
    """The AI engine's view of a loaded volume (voxels in their stored dtype, geometry, modality)."""
    return ImageInput(voxels=volume.voxels, spacing=volume.spacing, origin=volume.origin,
                      direction=volume.direction, modality=volume.modality, has_geometry=volume.has_geometry,
                      body_part=body_part or None,
                      photometric_interpretation=volume.photometric_interpretation)


def declared(volume: Volume, modality: str | None) -> Volume:
    """``volume`` with the kind the reader declared, when it is a plain image of unknown kind."""
    if modality and volume.modality == "OT":
        return declare_modality(volume, modality)
    return volume


def read_image_input(path: Path, modality: str) -> ImageInput:
    """A plain PNG/JPEG file as model input, declared to show ``modality`` ("DX" or "MR")."""
    return image_input(declared(load_raster_volume(Path(path)), modality))
