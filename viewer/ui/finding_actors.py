"""Findings in the 3D view: a box outline (its 12 edges, on the volume's true LPS geometry) and a
lit sphere at the centre of each finding, as large as the finding (its middle size, else its
box's; never under `MIN_RADIUS_MM`), red when it is marked, yellow below the operating point, cyan when
selected. Attached to the scene's ``markers`` renderer (a layer above the volume) they are drawn
over bone, never hidden by it. VTK only; no Qt.

    actors = FindingActors()
    actors.set_findings(volume, summary.findings)
    actors.attach(volume_view.scene.markers)         # then volume_view.scene.render()
    actors.select(finding.id)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersSources import vtkSphereSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer

from ai.findings import Finding
from viewer.core.map_planes import box_corners_mm
from viewer.core.volume import Volume

PASS_RGB = (1.0, 0.16, 0.16)
BELOW_RGB = (1.0, 0.82, 0.0)
SELECTED_RGB = (0.0, 1.0, 1.0)
MIN_RADIUS_MM = 4.0
# corner index = 4*k + 2*j + i over (lo, hi) per axis (see box_corners_mm)
_EDGES = ((0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7))


def box_polydata(corners: np.ndarray) -> vtkPolyData:
    """The 12 edges of a box given by its 8 corners (ordered as :func:`box_corners_mm`)."""
    points = vtkPoints()
    for corner in corners:
        points.InsertNextPoint(*(float(v) for v in corner))
    lines = vtkCellArray()
    for a, b in _EDGES:
        lines.InsertNextCell(2)
        lines.InsertCellPoint(a)
        lines.InsertCellPoint(b)
    poly = vtkPolyData()
    poly.SetPoints(points)
    poly.SetLines(lines)
    return poly


def marker_radius_mm(volume: Volume, finding: Finding) -> float:
    """Half the finding's middle size (of ``size_mm``, else of its box's extents, in mm), never
    under `MIN_RADIUS_MM`: the ball then sits inside the box outline."""
    if finding.size_mm is not None:
        size = float(np.median([float(v) for v in finding.size_mm]))
    elif finding.box_kji is not None:
        corners = box_corners_mm(volume, finding.box_kji)
        size = float(np.median(corners.max(axis=0) - corners.min(axis=0)))
    else:
        size = 0.0
    return max(MIN_RADIUS_MM, size / 2)


def _actor(poly_or_source: object, colour: tuple[float, float, float], line_width: float = 2.0) -> vtkActor:
    mapper = vtkPolyDataMapper()
    if isinstance(poly_or_source, vtkPolyData):
        mapper.SetInputData(poly_or_source)
    else:
        mapper.SetInputConnection(poly_or_source.GetOutputPort())  # type: ignore[attr-defined]
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*colour)
    actor.GetProperty().SetLineWidth(line_width)
    actor.GetProperty().LightingOff()
    return actor


class FindingActors:
    """VTK actors for a list of findings (see the module docstring)."""

    def __init__(self) -> None:
        self.actors: dict[str, list[vtkActor]] = {}
        self.findings: dict[str, Finding] = {}
        self.renderer: vtkRenderer | None = None
        self.selected_id: str | None = None

    def set_findings(self, volume: Volume, findings: Sequence[Finding]) -> None:
        self._remove()
        self.actors, self.findings = {}, {f.id: f for f in findings}
        for finding in findings:
            self.actors[finding.id] = self._make(volume, finding)
        self._add()
        self.select(self.selected_id if self.selected_id in self.findings else None)

    @staticmethod
    def _make(volume: Volume, finding: Finding) -> list[vtkActor]:
        colour = PASS_RGB if finding.marked else BELOW_RGB
        made = []
        if finding.box_kji is not None:
            made.append(_actor(box_polydata(box_corners_mm(volume, finding.box_kji)), colour))
        if finding.center_kji is not None:
            sphere = vtkSphereSource()
            sphere.SetCenter(*(float(v) for v in volume.index_to_patient(finding.center_kji)))
            sphere.SetRadius(marker_radius_mm(volume, finding))
            sphere.SetThetaResolution(24)
            sphere.SetPhiResolution(24)
            actor = _actor(sphere, colour)
            actor.GetProperty().LightingOn()  # shaded: reads as a ball, not a flat disc
            actor.GetProperty().SetAmbient(0.45)
            actor.GetProperty().SetDiffuse(0.6)
            made.append(actor)
        return made

    def attach(self, renderer: vtkRenderer) -> None:
        self._remove()
        self.renderer = renderer
        self._add()

    def _add(self) -> None:
        if self.renderer is not None:
            for actors in self.actors.values():
                for actor in actors:
                    self.renderer.AddActor(actor)

    def _remove(self) -> None:
        if self.renderer is not None:
            for actors in self.actors.values():
                for actor in actors:
                    self.renderer.RemoveActor(actor)

    def select(self, finding_id: str | None) -> None:
        """Colour one finding cyan (and the others by their operating point)."""
        self.selected_id = finding_id
        for fid, actors in self.actors.items():
            finding = self.findings[fid]
            colour = SELECTED_RGB if fid == finding_id else (
                PASS_RGB if finding.marked else BELOW_RGB)
            for actor in actors:
                actor.GetProperty().SetColor(*colour)

    def set_visible(self, visible: bool) -> None:
        for actors in self.actors.values():
            for actor in actors:
                actor.SetVisibility(visible)
