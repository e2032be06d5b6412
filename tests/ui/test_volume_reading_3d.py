"""The 3D view as a reader uses it (LIDC-0314 and phantoms, offscreen VTK on llvmpipe): the body
fills its pane without the table, the orientation cube's letters match patient directions, the lung
preset shows the lungs without a haze, finding markers show through bone. PNGs go to test-output/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vtkmodules.vtkRenderingCore import vtkCoordinate

from ai.findings import Finding
from viewer.core.body_regions import regions_of
from viewer.core.volume import Volume
from viewer.ui.finding_actors import PASS_RGB, FindingActors
from viewer.ui.orientation_cube import FACE_LETTERS, LETTER_RGB
from viewer.ui.volume_view import PRESETS, VolumeScene, capture, offscreen_window

from .test_volume_view import phantom


def scene_for(volume: Volume, preset: str, size: tuple[int, int]) -> tuple[VolumeScene, object]:
    window = offscreen_window(size)
    scene = VolumeScene()
    scene.preset = PRESETS[preset]
    scene.attach(window)
    scene.set_volume(volume)
    return scene, window


def without_cube(scene: VolumeScene, rgb: np.ndarray) -> np.ndarray:
    """The picture with the orientation cube's corner pane blacked out."""
    left, bottom, side = scene.cube.pane_px()
    out = rgb.copy()
    out[rgb.shape[0] - bottom - side:rgb.shape[0] - bottom, left:left + side] = 0
    return out


def cube_pane(scene: VolumeScene, rgb: np.ndarray) -> np.ndarray:
    left, bottom, side = scene.cube.pane_px()
    return rgb[rgb.shape[0] - bottom - side:rgb.shape[0] - bottom, left:left + side]


def letter_pixels(pane: np.ndarray) -> dict[str, int]:
    """How many pixels of the pane have each letter's colour (letters are unlit: exact colours)."""
    counts = {}
    for letter, rgb in LETTER_RGB.items():
        target = np.array(rgb) * 255
        counts[letter] = int((np.abs(pane.astype(float) - target).max(axis=-1) < 12).sum())
    return counts


def look_from(scene: VolumeScene, direction: tuple[float, ...], up: tuple[float, ...]) -> None:
    """Put the camera on the ``direction`` side (LPS) of the volume's centre, looking at it."""
    camera = scene.renderer.GetActiveCamera()
    focal = np.array(camera.GetFocalPoint())
    camera.SetPosition(*(focal + 800 * np.array(direction)))
    camera.SetViewUp(*up)
    scene.renderer.ResetCameraClippingRange()


@pytest.mark.parametrize(("direction", "up", "letter"), [
    ((0, -1, 0), (0, 0, 1), "A"), ((0, 1, 0), (0, 0, 1), "P"), ((1, 0, 0), (0, 0, 1), "L"),
    ((-1, 0, 0), (0, 0, 1), "R"), ((0, 0, 1), (0, -1, 0), "S"), ((0, 0, -1), (0, 1, 0), "I"),
])
def test_cube_shows_the_letter_of_the_side_the_camera_is_on(direction: tuple, up: tuple, letter: str,
                                                             output_dir: Path) -> None:
    # a grid flipped in i and j: the letters follow the patient, not the voxel axes
    scene, window = scene_for(phantom(np.diag([-1.0, -1.0, 1.0]), offset_lps=(20, 0, 0)), "soft tissue",
                              (320, 320))
    look_from(scene, direction, up)
    scene.render()
    rgb = capture(window)
    window.Finalize()
    Image.fromarray(rgb).save(output_dir / f"volume-cube-from-{letter}.png")
    counts = letter_pixels(cube_pane(scene, rgb))
    assert max(counts, key=counts.get) == letter and counts[letter] > 30, counts
    assert FACE_LETTERS[{(1, 0, 0): "XPlus", (-1, 0, 0): "XMinus", (0, 1, 0): "YPlus", (0, -1, 0): "YMinus",
                         (0, 0, 1): "ZPlus", (0, 0, -1): "ZMinus"}[direction]] == letter


def test_cube_left_face_is_on_the_side_of_the_patients_left(output_dir: Path) -> None:
    """Turned 40° towards the patient's left, the cube shows its L face on the side of the screen
    where a ball at the patient's left is (flipped voxel grid)."""
    scene, window = scene_for(phantom(np.diag([-1.0, -1.0, 1.0]), offset_lps=(22, 0, 0)), "soft tissue",
                              (320, 320))
    scene.rotate(azimuth=40)  # either way: the test finds which x face shows
    scene.render()
    rgb = capture(window)
    window.Finalize()
    pane = cube_pane(scene, rgb)
    counts = letter_pixels(pane)
    shown = "L" if counts["L"] > counts["R"] else "R"
    target = np.array(LETTER_RGB[shown]) * 255
    cols = np.nonzero(np.abs(pane.astype(float) - target).max(axis=-1) < 12)[1]
    face_side = np.sign(cols.mean() - pane.shape[1] / 2)
    ball_cols = np.nonzero(without_cube(scene, rgb).max(axis=-1) > 30)[1]
    ball_side = np.sign(ball_cols.mean() - rgb.shape[1] / 2)
    assert (face_side == ball_side) == (shown == "L"), (shown, face_side, ball_side)


@pytest.fixture(scope="module")
def lidc(lidc_dir: Path) -> Volume:
    from viewer.core.series_loader import load_series

    return load_series(lidc_dir).volume


def object_box(rgb: np.ndarray) -> tuple[float, float]:
    """Width and height of the box around the non-black pixels, as fractions of the picture."""
    rows, cols = np.nonzero(rgb.max(axis=-1) > 25)
    return (cols.max() - cols.min() + 1) / rgb.shape[1], (rows.max() - rows.min() + 1) / rgb.shape[0]


@pytest.mark.parametrize("size", [(480, 320), (320, 480)], ids=["wide", "tall"])
def test_lidc_body_fills_its_pane(lidc: Volume, size: tuple[int, int], output_dir: Path) -> None:
    scene, window = scene_for(lidc, "bone", size)
    scene.render()
    rgb = capture(window)
    Image.fromarray(rgb).save(output_dir / f"volume-lidc-bone-{size[0]}x{size[1]}.png")
    width, height = object_box(without_cube(scene, rgb))
    assert max(width, height) >= 0.75, f"the chest takes {width:.0%} × {height:.0%} of the pane"
    counts = letter_pixels(cube_pane(scene, rgb))
    assert max(counts, key=counts.get) == "A", "anterior view: the cube shows A"
    window.SetSize(size[1], size[0])  # the pane changes shape: framed again
    scene.render()
    width, height = object_box(without_cube(scene, capture(window)))
    assert max(width, height) >= 0.75
    scene.rotate(azimuth=30)
    window.SetSize(*size)  # a camera the user turned is left alone
    scene.render()
    assert scene._fitted[0] != tuple(window.GetSize())
    window.Finalize()


def screen_point(scene: VolumeScene, xyz: np.ndarray, height: int) -> tuple[int, int]:
    coordinate = vtkCoordinate()
    coordinate.SetCoordinateSystemToWorld()
    coordinate.SetValue(*(float(v) for v in xyz))
    x, y = coordinate.GetComputedDisplayValue(scene.renderer)
    return height - 1 - int(y), int(x)


def test_lidc_table_is_not_rendered(lidc: Volume, output_dir: Path) -> None:
    """Seen from the patient's left, nothing is drawn behind the patient's back."""
    size = (400, 400)
    scene, window = scene_for(lidc, "bone", size)
    look_from(scene, (1, 0, 0), (0, 0, 1))  # posterior is on the screen's right
    scene.render()
    rgb = without_cube(scene, capture(window))
    Image.fromarray(rgb).save(output_dir / "volume-lidc-bone-from-left.png")
    x0, x1, y0, y1, z0, z1 = regions_of(lidc).bounds_mm(lidc)
    back = [screen_point(scene, np.array([x, y1 + 8, z]), size[1])[1] for x in (x0, x1) for z in (z0, z1)]
    cols = np.nonzero(rgb.max(axis=-1) > 25)[1]
    assert cols.size and cols.max() < max(back), "no table behind the back"
    scene.set_preset("bone")  # same preset: no new mappers
    window.Finalize()


def test_lidc_lung_preset_without_haze(lidc: Volume, output_dir: Path) -> None:
    scene, window = scene_for(lidc, "lung", (400, 400))
    scene.render()
    rgb = without_cube(scene, capture(window)).astype(int)
    window.Finalize()
    Image.fromarray(rgb.astype(np.uint8)).save(output_dir / "volume-lidc-lung.png")
    shown = rgb.max(axis=-1) > 25
    bluish = shown & (rgb[..., 2] > rgb[..., 0] + 20)
    assert bluish.sum() < 0.01 * shown.sum(), "no blue haze"
    faint = (rgb.max(axis=-1) > 8) & ~shown
    assert faint.sum() < 0.5 * shown.sum(), "the vessels stand out of a dark background"
    h, w = shown.shape
    left, right = shown[:, : w // 2].mean(), shown[:, w // 2:].mean()
    assert left > 0.03 and right > 0.03, "both lungs are shown"
    assert not shown[h // 2 - 20:h // 2 + 20, w // 2 - 8:w // 2 + 8].mean() > 0.5, "no mediastinal slab"


def test_marker_shows_over_bone(lidc: Volume, output_dir: Path) -> None:
    """A finding inside a vertebra (behind bone from the front): its marker is drawn on top."""
    k = lidc.shape[0] // 2
    rows, cols = np.nonzero(lidc.voxels[k, 300:450, 180:330] > 200)
    centre = (float(k), 300 + float(np.median(rows)), 180 + float(np.median(cols)))
    finding = Finding("nodule-ct", "2", "nodule", 0.9, True, center_kji=centre, size_mm=(12.0, 12.0, 12.0))
    size = (400, 400)
    seen = {}
    for layer in ("markers", "renderer"):
        scene, window = scene_for(lidc, "bone", size)
        actors = FindingActors()
        actors.attach(getattr(scene, layer))
        actors.set_findings(lidc, [finding])
        scene.render()
        rgb = capture(window)
        Image.fromarray(rgb).save(output_dir / f"volume-lidc-marker-{layer}.png")
        row, col = screen_point(scene, lidc.index_to_patient(centre), size[1])
        patch = rgb[row - 2:row + 3, col - 2:col + 3].astype(int)
        r, g, b = patch[..., 0], patch[..., 1], patch[..., 2]
        red = (r > 120) & (r > 2 * g) & (r > 2 * b)
        seen[layer] = red.mean()
        window.Finalize()
    assert seen["markers"] > 0.9, "the marker shows through the vertebra"
    assert seen["renderer"] < 0.5, "(in the volume's own layer bone would hide it)"
    assert PASS_RGB[0] > 0.9


def test_lidc_preset_change_frames_the_new_content_unless_the_user_turned(lidc: Volume,
                                                                          output_dir: Path) -> None:
    scene, window = scene_for(lidc, "bone", (360, 360))
    scene.render()
    scene.set_preset("lung")  # the lungs are smaller than the body: framed again
    scene.render()
    rgb = capture(window)
    Image.fromarray(rgb).save(output_dir / "volume-lidc-bone-then-lung.png")
    assert max(object_box(without_cube(scene, rgb))) >= 0.75, "the lungs fill the pane"
    scene.rotate(azimuth=20)
    camera = scene.renderer.GetActiveCamera()
    before = (camera.GetPosition(), camera.GetViewAngle())
    scene.set_preset("bone")
    assert (camera.GetPosition(), camera.GetViewAngle()) == before, "a turned camera stays"
    window.Finalize()


def test_marker_is_as_large_as_the_finding() -> None:
    from viewer.ui.finding_actors import MIN_RADIUS_MM, marker_radius_mm

    volume = Volume(np.zeros((40, 64, 64), np.int16), (2.0, 0.5, 0.5), modality="CT")
    sized = Finding("m", "1", "nodule", 0.9, True, center_kji=(20, 32, 32), size_mm=(22.0, 14.0, 12.0))
    assert marker_radius_mm(volume, sized) == 7.0, "half the middle size: inside the box outline"
    boxed = Finding("m", "1", "nodule", 0.9, True, center_kji=(20, 32, 32), box_kji=(15, 20, 20, 25, 60, 44))
    assert marker_radius_mm(volume, boxed) == 10.0, "box 20 × 20 × 12 mm: middle 20"
    tiny = Finding("m", "1", "nodule", 0.9, True, center_kji=(20, 32, 32), size_mm=(2.0, 2.0, 2.0))
    assert marker_radius_mm(volume, tiny) == MIN_RADIUS_MM, "never a dot too small to see"
