"""Per-file problems met while indexing or loading, in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileProblem:
    """Something wrong with one file (or one frame of it), said so a radiologist understands.

    ``severity`` is ``"ignored"`` for files that are simply not images (a README, a DICOMDIR),
    ``"error"`` for a file that should have been an image but could not be used, and
    ``"warning"`` for one that was used with a caveat.
    """

    path: Path
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path.name}: {self.message}"


class DicomLoadError(Exception):
    """Nothing loadable was found; the message says why in one line."""
