"""Where the shipped resources (models, sample study) are: source tree or PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """`resources/` of the source tree, or of a PyInstaller bundle (``sys._MEIPASS``)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def sample_study_dir() -> Path:
    """The bundled sample study's DICOM folder."""
    return resources_dir() / "sample" / "lidc-idri-0314-nodule-slab"
