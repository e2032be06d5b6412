"""Heat-map overlay on real slice views: visible where the map is high, gone at opacity 0, and on
the right pixels for flipped, permuted (coronal-acquired) grids, every MPR view, and slabs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from ai.findings import Finding
from viewer.core.map_planes import box_on_plane
from viewer.core.view_state import ViewerModel, ViewKind
from viewer.core.volume import Volume
from viewer.core.windowing import Window
from viewer.ui.heatmap_overlay import AIOverlay
from viewer.ui.slice_view import SliceView

from .viewer_helpers import save, to_array

SHAPE = (30, 40, 50)
CUBE = (slice(10, 16), slice(8, 14), slice(30, 38))  # bright block and hot map, [k, j, i]
BOX = (10.0, 8.0, 30.0, 16.0, 14.0, 38.0)
DIRECTIONS = {
    "axial": np.eye(3),
    "flipped": np.diag([-1.0, -1.0, -1.0]),  # i → R, j → A, k → I
    "coronal-acquired": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]),  # i → L, j → I, k → P
}


def volume_with_cube(direction: np.ndarray) -> tuple[Volume, np.ndarray]:
    voxels = np.zeros(SHAPE, np.int16)
    voxels[CUBE] = 1000
    heat = np.zeros(SHAPE, np.float32)
    heat[CUBE] = 1.0
    return Volume(voxels, (1.0, 1.0, 1.0), direction=direction, modality="CT"), heat


def cube_finding() -> Finding:
    return Finding("tiny", "1", "blob", 0.9, True, threshold=0.5, center_kji=(12.5, 10.5, 33.5),
                   box_kji=BOX, explanation="blob")


def make_view(qtbot, volume: Volume, kind: ViewKind) -> SliceView:  # noqa: ANN001
    model = ViewerModel()
    model.set_volume(volume)
    model.set_window(Window(500, 1000))
    model.set_cursor((12, 10, 33))  # every view cuts through the cube
    view = SliceView(model, kind)
    qtbot.addWidget(view)
    view.resize(400, 360)
    return view


def blur_px(view: SliceView) -> int:
    """Screen pixels over which one voxel's edge is smoothed (bilinear scaling), plus one."""
    t = view.transform()
    return int(np.ceil(max(t.sx, t.sy))) + 1


def render(view: SliceView, overlay: AIOverlay | None) -> np.ndarray:
    """What the view paints, with the overlay as its layer (the integration path) or without."""
    view.layers.clear()
    if overlay is not None:
        view.add_layer(overlay.paint_view)
    return to_array(view.render_image())


def overlay_for(heat: np.ndarray, opacity: float = 0.6, boxes: bool = False) -> AIOverlay:
    overlay = AIOverlay()
    overlay.set_results([cube_finding()], {"blob": heat})
    overlay.set_opacity(opacity)
    overlay.set_boxes_visible(boxes)
    overlay.colour_bar_visible = False
    return overlay


@pytest.mark.parametrize("name", list(DIRECTIONS))
@pytest.mark.parametrize("kind", list(ViewKind))
def test_heat_lies_on_the_bright_block(qtbot, output_dir: Path, name: str, kind: ViewKind) -> None:  # noqa: ANN001
    volume, heat = volume_with_cube(DIRECTIONS[name])
    view = make_view(qtbot, volume, kind)
    base = render(view, None).astype(int)
    over = render(view, overlay_for(heat)).astype(int)
    block = base.min(axis=2) > 200  # the white cube as the slice view drew it
    assert block.sum() > 100
    changed = np.abs(over - base).sum(axis=2) > 30
    assert changed[block].mean() > 0.9  # the heat covers the block ...
    near = np.zeros_like(block)
    rows, cols = np.nonzero(block)
    m = blur_px(view)  # smooth scaling blurs both the image's and the map's edges
    near[rows.min() - m:rows.max() + m + 1, cols.min() - m:cols.max() + m + 1] = True
    assert not changed[~near].any()  # ... and nothing far from it
    inside = over[block]
    assert (inside[:, 0] > inside[:, 1] + 30).all() and (inside[:, 0] > inside[:, 2] + 30).all()  # red-ish
    if kind == ViewKind.AXIAL:
        save(view.render_image(), output_dir, f"heatmap_{name}_base.png")
    image = QImage(over.astype(np.uint8).tobytes(), over.shape[1], over.shape[0], over.shape[1] * 3,
                   QImage.Format.Format_RGB888)
    save(image.copy(), output_dir, f"heatmap_{name}_{kind}.png")


def test_opacity_zero_and_toggle_hide_it(qtbot) -> None:  # noqa: ANN001
    volume, heat = volume_with_cube(np.eye(3))
    view = make_view(qtbot, volume, ViewKind.AXIAL)
    base = render(view, None)
    overlay = overlay_for(heat, opacity=0.0)
    assert np.array_equal(render(view, overlay), base)
    overlay.set_opacity(0.7)
    assert not np.array_equal(render(view, overlay), base)
    overlay.toggle_heat()
    assert np.array_equal(render(view, overlay), base)


def test_slab_shows_heat_from_neighbouring_slices(qtbot) -> None:  # noqa: ANN001
    volume, heat = volume_with_cube(np.eye(3))
    view = make_view(qtbot, volume, ViewKind.AXIAL)
    view.set_slice(18)  # two slices past the cube (k 10..15)
    overlay = overlay_for(heat)
    assert np.array_equal(render(view, overlay), render(view, None))
    view.model.set_slab("mean", 10.0)  # slices 14..23
    base, over = render(view, None), render(view, overlay)
    assert (np.abs(over.astype(int) - base).sum(axis=2) > 30).sum() > 100


@pytest.mark.parametrize("name", list(DIRECTIONS))
def test_box_outline_encloses_the_block(qtbot, output_dir: Path, name: str) -> None:  # noqa: ANN001
    volume, heat = volume_with_cube(DIRECTIONS[name])
    for kind in ViewKind:
        view = make_view(qtbot, volume, kind)
        overlay = overlay_for(heat, opacity=0.0, boxes=True)
        base, over = render(view, None).astype(int), render(view, overlay).astype(int)
        grey = base.max(axis=2) - base.min(axis=2) < 8  # not the (coloured) corner text
        rows, cols = np.nonzero(grey & (base.min(axis=2) > 127))  # half-way up the smoothed edge
        drawn = np.abs(over - base).sum(axis=2) > 60
        red = drawn & (over[..., 0] > 180) & (over[..., 1] < 120)
        [(text, (lx, ly, lw, lh))] = overlay.labels.placed
        assert text == "blob 0.90"
        label = np.zeros(red.shape, bool)
        label[int(ly):int(np.ceil(ly + lh)) + 1, int(lx):int(np.ceil(lx + lw)) + 1] = True
        assert red[label].sum() > 20  # the label is drawn where it was placed...
        assert not (label & grey & (base.min(axis=2) > 127)).any()  # ...beside the block, not on it
        r, c = np.nonzero(red & ~label)
        # the outline runs along the block's edges (a voxel is 7-10 screen pixels here)
        assert abs(r.max() - rows.max()) <= 2 and abs(cols.min() - c.min()) <= 2
        assert abs(c.max() - cols.max()) <= 2 and abs(r.min() - rows.min()) <= 2
        outline = box_on_plane(BOX, view.geometry, (view.slice_index, view.slice_index + 1))
        assert outline is not None
    view.set_slice(view.n_slices - 1)  # far from the cube: no box
    assert box_on_plane(BOX, view.geometry, (view.slice_index, view.slice_index + 1)) is None


def test_per_finding_and_whole_image_maps(qtbot) -> None:  # noqa: ANN001
    volume, heat = volume_with_cube(np.eye(3))
    other = np.zeros(SHAPE, np.float32)
    other[10:16, 25:35, 5:15] = 1.0
    overlay = AIOverlay()
    overlay.set_results([cube_finding()], {"blob": heat, "other": other})
    assert overlay.current_map().max() == 1.0 and overlay.current_map()[12, 30, 10] == 1.0  # max of both
    overlay.select_finding(cube_finding())
    assert overlay.map_key == "blob" and overlay.current_map()[12, 30, 10] == 0.0
    with pytest.raises(KeyError, match="no explanation map"):
        overlay.show_map("nope")
    seen = []
    overlay.changed.connect(lambda: seen.append(True))
    overlay.set_opacity(0.3)
    assert seen == [True]


def test_attach_to_the_view_grid(qtbot) -> None:  # noqa: ANN001
    from viewer.ui.view_grid import ViewGrid

    volume, heat = volume_with_cube(np.eye(3))
    model = ViewerModel()
    model.set_volume(volume)
    grid = ViewGrid(model)
    qtbot.addWidget(grid)
    overlay = overlay_for(heat)
    overlay.attach(grid)
    assert all(overlay.paint_view in view.layers for view in grid.views.values())
    axial = grid.views[ViewKind.AXIAL]
    axial.resize(300, 300)
    model.set_cursor((12, 10, 33))
    shown = to_array(axial.render_image())
    overlay.set_heat_visible(False)
    assert not np.array_equal(to_array(axial.render_image()), shown)


def test_a_map_of_another_grid_is_not_drawn(qtbot) -> None:  # noqa: ANN001
    volume, heat = volume_with_cube(np.eye(3))
    view = make_view(qtbot, volume, ViewKind.AXIAL)
    overlay = overlay_for(heat[:, :-1])  # e.g. left over from another series: never painted, never raises
    assert np.array_equal(render(view, overlay), render(view, None))
