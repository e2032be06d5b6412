"""3D volume rendering: presets, true geometry, orientation, level of detail, the Qt widget.

Renders offscreen through VTK (Mesa llvmpipe here, so the CPU ray caster is used) and checks
pixels; PNGs go to test-output/ to be looked at.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from viewer.core.volume import Volume
from viewer.ui import volume_view
from viewer.ui.orientation_cube import cube_pane_px
from viewer.ui.volume_view import (
    PRESETS,
    VolumeScene,
    capture,
    offscreen_window,
)

SIZE = (256, 256)


def phantom(direction: np.ndarray | None = None, spacing: tuple[float, float, float] = (1.5, 1.0, 1.0),
            shape: tuple[int, int, int] = (80, 96, 96), centre_lps: tuple[float, float, float] = (0, 0, 0),
            offset_lps: tuple[float, float, float] = (0, 0, 0)) -> Volume:
    """Air with a 30 mm soft-tissue ball (40 HU) around a 12 mm bone core (1000 HU).

    The grid (``direction``, ``spacing``) is centred on ``centre_lps``; the ball sits at
    ``centre_lps + offset_lps``, so any grid samples the same patient-space object.
    """
    direction = np.eye(3) if direction is None else direction
    extent = np.array([(n - 1) * s for n, s in zip(shape[::-1], spacing[::-1], strict=True)])  # i, j, k
    origin = np.asarray(centre_lps, float) - direction @ (extent / 2)
    empty = Volume(np.zeros(shape, np.int16), spacing, tuple(origin), direction, modality="CT")
    kji = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), axis=-1)
    r = np.linalg.norm(empty.index_to_patient(kji) - (np.asarray(centre_lps) + offset_lps), axis=-1)
    voxels = np.where(r < 30, 40, -1000).astype(np.int16)
    voxels[r < 12] = 1000
    return empty.with_voxels(voxels)


def without_cube(rgb: np.ndarray) -> np.ndarray:
    """The picture with the orientation cube's corner pane (bottom left) blacked out."""
    left, bottom, side = cube_pane_px(rgb.shape[1], rgb.shape[0])
    out = rgb.copy()
    out[rgb.shape[0] - bottom - side:rgb.shape[0] - bottom, left:left + side] = 0
    return out


def object_mask(rgb: np.ndarray, threshold: int = 30) -> np.ndarray:
    return rgb.max(axis=-1) > threshold


def render_volume(volume: Volume, preset: str, size: tuple[int, int], **kwargs: object) -> np.ndarray:
    """The volume alone (no orientation cube: these tests locate the object by its pixels)."""
    return volume_view.render_volume(volume, preset, size, orientation_cube=False, **kwargs)


def save(rgb: np.ndarray, output_dir: Path, name: str) -> None:
    Image.fromarray(rgb).save(output_dir / f"volume-{name}.png")


@pytest.mark.parametrize("preset", list(PRESETS))
def test_each_preset_shows_the_ball_in_the_centre(preset: str, output_dir: Path) -> None:
    rgb = render_volume(phantom(), preset, SIZE)
    save(rgb, output_dir, f"phantom-{preset.replace(' ', '-')}")
    h, w, _ = rgb.shape
    centre = rgb[h // 2 - 10:h // 2 + 10, w // 2 - 10:w // 2 + 10].astype(float)
    corners = np.concatenate([rgb[:20, :20], rgb[:20, -20:], rgb[-20:, :20], rgb[-20:, -20:]]).astype(float)
    assert corners.max() < 10, "background must stay black"
    assert centre.mean() > corners.mean() + 20
    mask = object_mask(rgb, 10)
    rows, cols = np.nonzero(mask)
    assert abs(rows.mean() - h / 2) < 6 and abs(cols.mean() - w / 2) < 6


def test_presets_differ() -> None:
    volume = phantom()
    bone = object_mask(render_volume(volume, "bone", SIZE)).sum()
    soft = object_mask(render_volume(volume, "soft tissue", SIZE)).sum()
    # the soft-tissue preset shows the whole 30 mm ball, bone only the 12 mm core
    assert soft > 3 * bone > 0


def test_anterior_view_puts_patient_left_on_screen_right_and_superior_up(output_dir: Path) -> None:
    # the camera frames the content, so it looks at the volume's centre here to see the offset
    rgb = render_fixed_camera(phantom(offset_lps=(25, 0, 20)))
    save(rgb, output_dir, "phantom-left-superior")
    rows, cols = np.nonzero(object_mask(rgb))
    assert cols.mean() > SIZE[0] / 2 + 10, "patient left (+x) must be on the screen's right"
    assert rows.mean() < SIZE[1] / 2 - 10, "superior (+z) must be at the top"


def rotation_x(deg: float) -> np.ndarray:
    t = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])


def sheared(deg: float) -> np.ndarray:
    t = math.radians(deg)
    return np.column_stack([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, 0, 1]])


def render_fixed_camera(volume: Volume) -> np.ndarray:
    """Soft-tissue rendering through one fixed parallel camera looking from anterior at (0, 0, 0)."""
    window = offscreen_window(SIZE)
    scene = VolumeScene()
    scene.preset = PRESETS["soft tissue"]
    scene.attach(window)
    scene.cube.set_visible(False)
    scene.set_volume(volume)
    camera = scene.renderer.GetActiveCamera()
    camera.ParallelProjectionOn()
    camera.SetParallelScale(60.0)
    camera.SetFocalPoint(0.0, 0.0, 0.0)
    camera.SetPosition(0.0, -500.0, 0.0)
    camera.SetViewUp(0.0, 0.0, 1.0)
    scene.renderer.ResetCameraClippingRange()
    scene.render()
    rgb = capture(window)
    window.Finalize()
    return rgb


@pytest.mark.parametrize("direction", [rotation_x(25), sheared(18.5), np.diag([-1.0, -1.0, 1.0])],
                         ids=["oblique-25deg", "gantry-shear-18.5deg", "flipped-i-j"])
def test_true_geometry_is_not_distorted(direction: np.ndarray, output_dir: Path) -> None:
    offset = (10.0, 0.0, -8.0)
    reference = object_mask(render_fixed_camera(phantom(offset_lps=offset)))
    rgb = render_fixed_camera(phantom(direction, spacing=(2.0, 0.8, 1.0), offset_lps=offset))
    name = "-".join(f"{v:+.2f}" for v in direction[:, 1])
    save(rgb, output_dir, f"phantom-geometry-{name}")
    mask = object_mask(rgb)
    iou = (mask & reference).sum() / (mask | reference).sum()
    assert iou > 0.9, f"the ball must render where and as round as on an identity grid (IoU {iou:.2f})"
    rows, cols = np.nonzero(mask)
    assert (rows.max() - rows.min()) == pytest.approx(cols.max() - cols.min(), rel=0.06)
    # 60 mm ball in a 120 mm tall parallel view of 256 px: ~128 px across, centred 10 mm right, 8 mm down
    assert cols.max() - cols.min() == pytest.approx(128, rel=0.08)
    assert (cols.mean() - 128, rows.mean() - 128) == pytest.approx((10 * 256 / 120, 8 * 256 / 120), abs=3)


def test_level_of_detail_switches_mappers() -> None:
    window = offscreen_window(SIZE)
    scene = VolumeScene()
    scene.preset = PRESETS["soft tissue"]
    scene.attach(window)
    scene.cube.set_visible(False)
    assert scene.software_gl and scene.uses_cpu_mapper  # Mesa llvmpipe on CI
    scene.set_volume(phantom())
    full = scene.prop.GetMapper()
    scene.set_interactive(True)
    coarse = scene.prop.GetMapper()
    assert coarse is not full
    assert coarse.GetInput().GetDimensions() == (48, 48, 40)
    assert coarse.GetImageSampleDistance() == 2.0
    scene.render()
    interactive = object_mask(capture(window)).sum()
    scene.set_interactive(False)
    assert scene.prop.GetMapper() is full
    scene.render()
    still = object_mask(capture(window)).sum()
    assert interactive == pytest.approx(still, rel=0.15)
    window.Finalize()


@pytest.fixture(scope="module")
def lidc(lidc_dir: Path) -> Volume:
    from viewer.core.series_loader import load_series

    return load_series(lidc_dir).volume


@pytest.mark.parametrize("preset", list(PRESETS))
def test_lidc_presets(lidc: Volume, preset: str, output_dir: Path) -> None:
    rgb = render_volume(lidc, preset, (384, 384))
    save(rgb, output_dir, f"lidc-{preset.replace(' ', '-')}")
    mask = object_mask(rgb)
    h, w = mask.shape
    assert mask[h // 3:2 * h // 3, w // 3:2 * w // 3].mean() > 0.5, "the chest fills the centre"
    # the camera frames the body (or the lungs) to ~88 % of the pane: a margin of black remains
    assert not mask[:10].any() and not mask[-10:].any(), "air above and below the scan stays black"


def test_volume_view_widget(qtbot, output_dir: Path) -> None:  # noqa: ANN001 (pytest-qt fixture)
    from viewer.core.view_state import ViewerModel
    from viewer.ui.volume_view import VolumeView

    view = VolumeView()
    qtbot.addWidget(view)
    view.resize(400, 430)
    view.show()
    qtbot.waitExposed(view)
    model = ViewerModel()
    view.model = model
    model.set_volume(phantom())  # the view follows the viewer model
    assert view.scene.volume is model.volume and view.scene.uses_cpu_mapper
    bone = without_cube(view.grab_array())
    view.presets.setCurrentText("soft tissue")  # the selector drives the scene
    assert view.scene.preset.name == "soft tissue"
    soft = without_cube(view.grab_array())
    save(bone, output_dir, "widget-bone")
    save(soft, output_dir, "widget-soft-tissue")
    assert object_mask(soft).sum() > 3 * object_mask(bone).sum() > 0
    h, w, _ = bone.shape
    assert object_mask(bone)[h // 2 - 5:h // 2 + 5, w // 2 - 5:w // 2 + 5].all()
    style = view.vtk_widget.GetInteractorStyle()
    style.InvokeEvent("StartInteractionEvent")
    assert view.scene.interactive and view.scene.prop.GetMapper() is view.scene._coarse
    style.InvokeEvent("EndInteractionEvent")
    qtbot.waitUntil(lambda: not view.scene.interactive, timeout=10000)  # full quality at rest
    assert view.scene.prop.GetMapper() is view.scene._full


def test_tilted_head_ct_renders_on_its_true_geometry(dicom_data: Path, output_dir: Path) -> None:
    from viewer.core.series_loader import load_series

    path = dicom_data / "ge-head-ct-gantry-tilt" / "series"
    if not path.is_dir():
        pytest.skip(f"tilted head CT not found at {path}")
    volume = load_series(path).volume
    front = render_volume(volume, "bone", (384, 384))
    side = render_volume(volume, "bone", (384, 384), azimuth=90)  # from the patient's left
    save(front, output_dir, "tilt-head-bone-anterior")
    save(side, output_dir, "tilt-head-bone-left")
    for rgb in (front, side):
        mask = object_mask(rgb)
        rows, cols = np.nonzero(mask)
        assert mask[150:234, 150:234].mean() > 0.3 and abs(cols.mean() - 192) < 40


def test_gpu_mapper_path_renders_the_same_object(monkeypatch: pytest.MonkeyPatch, output_dir: Path) -> None:
    """The GPU ray caster branch (used where a real GPU is present), forced here on llvmpipe."""
    monkeypatch.setenv("RADSIGHT_VOLUME_MAPPER", "gpu")
    window = offscreen_window((128, 128))
    scene = VolumeScene()
    scene.preset = PRESETS["soft tissue"]
    scene.attach(window)
    scene.cube.set_visible(False)
    assert not scene.uses_cpu_mapper
    scene.set_volume(phantom())
    assert scene.prop.GetMapper().IsA("vtkGPUVolumeRayCastMapper")
    assert scene.prop.GetProperty().GetShade() == 1  # shading kept on the GPU path
    scene.set_interactive(True)  # no coarse copy: the GPU mapper adapts by itself
    assert scene.prop.GetMapper().IsA("vtkGPUVolumeRayCastMapper")
    scene.set_interactive(False)
    scene.render()
    rgb = capture(window)
    window.Finalize()
    save(rgb, output_dir, "phantom-gpu-mapper-soft-tissue")
    mask = object_mask(rgb, 10)
    rows, cols = np.nonzero(mask)
    assert abs(rows.mean() - 64) < 4 and abs(cols.mean() - 64) < 4
    monkeypatch.setenv("RADSIGHT_VOLUME_MAPPER", "cpu")
    cpu = object_mask(render_volume(phantom(), "soft tissue", (128, 128)), 10)
    assert (mask & cpu).sum() / (mask | cpu).sum() > 0.85, "both mappers show the same ball"


def test_mouse_rotation_renders_coarse_then_full(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPoint, Qt

    from viewer.ui.volume_view import VolumeView

    view = VolumeView()
    qtbot.addWidget(view)
    view.resize(300, 330)
    view.show()
    qtbot.waitExposed(view)
    view.set_volume(phantom())
    scene = view.scene
    mappers: list[str] = []
    window = view.vtk_widget.GetRenderWindow()
    window.AddObserver("StartEvent", lambda *_: mappers.append(
        "coarse" if scene.prop.GetMapper() is scene._coarse else "full"))
    camera = scene.renderer.GetActiveCamera()
    before = camera.GetPosition()
    widget = view.vtk_widget
    centre = QPoint(widget.width() // 2, widget.height() // 2)
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=centre)
    for dx in range(10, 90, 10):
        qtbot.mouseMove(widget, centre + QPoint(dx, 0))  # delivered and rendered synchronously
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=centre + QPoint(80, 0))
    assert camera.GetPosition() != pytest.approx(before), "dragging turns the camera"
    assert "coarse" in mappers, "frames while dragging use the reduced level of detail"
    assert scene.interactive, "no full-quality frame on release: it waits for the view to rest"
    qtbot.waitUntil(lambda: mappers[-1] == "full" and not scene.interactive, timeout=10000)


def test_viewer_opens_a_compressed_series_with_a_broken_file(qtbot, tmp_path: Path,  # noqa: ANN001
                                                            dicom_data: Path, output_dir: Path) -> None:
    """The JPEG-LS LIDC-0001 (decoded in worker processes) opens in the viewer as int16 HU; a
    truncated file in the folder is named in the status bar and does not stop the folder."""
    import shutil

    from viewer.core import decode_pool
    from viewer.core.dicom_index import index_path

    from .viewer_helpers import grab_screen, open_window, to_array

    source = dicom_data / "lidc-idri-0001" / "series"
    frames = sorted(index_path(source).series[0].frames, key=lambda f: f.position[2])
    folder = tmp_path / "scan"
    folder.mkdir()
    for frame in frames[40:80]:  # 40 contiguous slices (file names are not in slice order)
        shutil.copy(frame.path, folder / frame.path.name)
    cut = folder / frames[45].path.name
    cut.write_bytes(cut.read_bytes()[:5000])  # pixel data cut short
    try:
        window = open_window(qtbot, tmp_path, folder)
        volume = window.result.volume
        assert volume.voxels.dtype == np.int16 and volume.shape[1:] == (512, 512)
        assert cut.name in window.status_label.text()
        pixels = to_array(grab_screen(window.grid.current))
        Image.fromarray(pixels).save(output_dir / "viewer-jpeg-ls-with-broken-file.png")
        assert pixels.std() > 20, "the CT slice is on screen"
    finally:
        decode_pool.shutdown()
