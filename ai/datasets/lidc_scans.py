"""Whole LIDC scans with their annotations: a folder per scan holding ``series/`` (DICOM) and either the
original LIDC XML (``*.xml``) or a pylidc export (``annotations/annotations.csv`` + ``contours.csv``).

``find_lidc_scans(root)`` accepts such a scan folder itself or a folder of them (as under
``../shared/data/dicom``: ``lidc-idri-0001/``, ``lidc-idri-0003/``, ``lidc-idri-0314/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ai.datasets.lidc_xml import (
    Nodule,
    ReaderMark,
    SliceGeometry,
    cluster_nodules,
    ignored_points,
    read_lidc_csv,
    read_lidc_xml,
)

IGNORE_RADIUS_MM = 5.0


@dataclass(frozen=True)
class LidcScan:
    """One annotated scan: its name (folder), series folder and annotation file or folder."""

    name: str
    series: Path
    annotations: Path

    def marks(self) -> list[ReaderMark]:
        if self.annotations.is_dir():
            return read_lidc_csv(self.annotations)
        return read_lidc_xml(self.annotations)


@dataclass(frozen=True)
class ScanTruth:
    """Clustered nodules (≥ 3 mm) and points to ignore (< 3 mm nodules, non-nodules), in LPS mm."""

    nodules: list[Nodule]
    ignore_mm: np.ndarray

    def reference(self, min_readers: int) -> list[Nodule]:
        return [n for n in self.nodules if n.readers >= min_readers]

    def ignorable(self, min_readers: int) -> tuple[np.ndarray, np.ndarray]:
        """Centres and radii (mm) of what a mark may hit without counting either way: < 3 mm nodules and
        non-nodules (radius :data:`IGNORE_RADIUS_MM`) and nodules of fewer than ``min_readers`` readers
        (radius max(theirs, :data:`IGNORE_RADIUS_MM`)), as LUNA16 ignores "irrelevant findings"."""
        fewer = [n for n in self.nodules if n.readers < min_readers]
        centres = np.vstack([self.ignore_mm, np.asarray([n.centre_mm for n in fewer]).reshape(-1, 3)])
        radii = np.r_[np.full(len(self.ignore_mm), IGNORE_RADIUS_MM),
                      [max(n.radius_mm, IGNORE_RADIUS_MM) for n in fewer]]
        return centres, radii


def scan_folder(folder: Path) -> LidcScan | None:
    """The scan in ``folder``, or None when it has no series or no annotations."""
    series = folder / "series"
    xml = sorted(folder.glob("*.xml"))
    csv_dir = folder / "annotations"
    if not series.is_dir():
        return None
    if xml:
        return LidcScan(folder.name, series, xml[0])
    if (csv_dir / "contours.csv").is_file():
        return LidcScan(folder.name, series, csv_dir)
    return None


def find_lidc_scans(root: str | Path) -> list[LidcScan]:
    """Annotated scans in ``root`` (itself one, or its sub-folders), sorted by name."""
    root = Path(root)
    own = scan_folder(root)
    if own is not None:
        return [own]
    found = [scan_folder(sub) for sub in sorted(root.iterdir()) if sub.is_dir()] if root.is_dir() else []
    return [s for s in found if s is not None]


def truth_for(scan: LidcScan, geometry: SliceGeometry) -> ScanTruth:
    marks = scan.marks()
    return ScanTruth(cluster_nodules(marks, geometry), ignored_points(marks, geometry))
