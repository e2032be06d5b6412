"""Is a nodule finding inside the radiologists' contours of the bundled sample's nodule?"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ai.findings import Finding

MARGIN_PX, MARGIN_MM = 3.0, 2.0


@dataclass
class ContourBox:
    """Bounding box of every reader's contour: columns, rows (pixels) and z (mm)."""

    columns: tuple[float, float]
    rows: tuple[float, float]
    z_mm: tuple[float, float]

    def holds(self, finding: Finding) -> bool:
        if finding.center_kji is None or finding.center_mm is None:
            return False
        _, row, column = finding.center_kji
        z = finding.center_mm[2]
        return (_within(column, self.columns, MARGIN_PX) and _within(row, self.rows, MARGIN_PX)
                and _within(z, self.z_mm, MARGIN_MM))


def _within(value: float, bounds: tuple[float, float], margin: float) -> bool:
    return bounds[0] - margin <= value <= bounds[1] + margin


def contour_box(path: Path) -> ContourBox:
    """The box of ``nodule_contours.csv`` (x = column, y = row, image_z_position in mm)."""
    xs, ys, zs = [], [], []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            zs.append(float(row["image_z_position"]))
            for point in row["coords"].split():
                x, y = point.split(",")
                xs.append(float(x))
                ys.append(float(y))
    return ContourBox((min(xs), max(xs)), (min(ys), max(ys)), (min(zs), max(zs)))
