"""Findings in the 3D view: box outline and centre marker land where the finding is (offscreen VTK)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from vtkmodules.vtkRenderingCore import vtkCoordinate

from ai.findings import Finding
from viewer.core.map_planes import box_corners_mm
from viewer.core.volume import Volume
from viewer.ui.finding_actors import FindingActors
from viewer.ui.volume_view import VolumeScene, capture, offscreen_window

SIZE = (256, 256)


def lesion_volume(direction: np.ndarray) -> Volume:
    """Air with a bone-bright 8-voxel cube at k 10-17, j 20-27, i 6-13 of a 32 x 40 x 40 grid."""
    voxels = np.full((32, 40, 40), -1000, np.int16)
    voxels[10:18, 20:28, 6:14] = 1000
    return Volume(voxels, (2.0, 1.0, 1.0), origin=(5.0, -3.0, 100.0), direction=direction, modality="CT")


def screen_of(scene: VolumeScene, xyz: np.ndarray) -> tuple[int, int]:
    """(row, col) of an LPS point on the captured image."""
    coordinate = vtkCoordinate()
    coordinate.SetCoordinateSystemToWorld()
    coordinate.SetValue(*(float(v) for v in xyz))
    x, y = coordinate.GetComputedDisplayValue(scene.renderer)
    return SIZE[1] - 1 - int(y), int(x)


def red(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] > 180) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)


def test_box_and_marker_at_the_finding(output_dir: Path) -> None:
    flipped = np.array([[-1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # i → R, j → S, k → P
    for name, direction in (("axial", np.eye(3)), ("flipped", flipped)):
        volume = lesion_volume(direction)
        window = offscreen_window(SIZE)
        scene = VolumeScene()
        scene.attach(window)
        scene.set_volume(volume)
        finding = Finding("m", "1", "lesion", 0.9, True, center_kji=(13.5, 23.5, 9.5),
                          box_kji=(10.0, 20.0, 6.0, 18.0, 28.0, 14.0))
        actors = FindingActors()
        actors.attach(scene.renderer)
        actors.set_findings(volume, [finding])
        scene.render()
        shown = capture(window)
        Image.fromarray(shown).save(output_dir / f"finding_3d_{name}.png")
        rows, cols = np.nonzero(red(shown))
        corners = [screen_of(scene, c) for c in box_corners_mm(volume, finding.box_kji)]
        r_lo, c_lo = np.min(corners, axis=0)
        r_hi, c_hi = np.max(corners, axis=0)
        assert abs(rows.min() - r_lo) <= 3 and abs(rows.max() - r_hi) <= 3  # the outline spans the box
        assert abs(cols.min() - c_lo) <= 3 and abs(cols.max() - c_hi) <= 3
        scene.prop.SetVisibility(False)  # the bright lesion hides the marker inside it
        scene.render()
        row, col = screen_of(scene, volume.index_to_patient(finding.center_kji))
        assert red(capture(window))[row - 2:row + 3, col - 2:col + 3].mean() > 0.5  # marker at the centre
        actors.set_visible(False)
        scene.render()
        assert not red(capture(window)).any()
        window.Finalize()
