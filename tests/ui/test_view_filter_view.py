"""Display-only view filters in the real window (pytest-qt under Xvfb):

* LIDC-0314: View › Filter › Contrast (CLAHE) and Denoise change the pixels on screen (computed in
  a worker thread, the window stays responsive) and put a visible "filtered: …" label on the
  image, while the plane, ROI statistics, the value under the cursor and the histogram stay those
  of the unfiltered data; None brings back the same pixels;
* FracAtlas: the fracture model's findings are identical with and without a filter on screen
  (analysis always reads the unfiltered image).
Screenshots at 1280×800 and 1920×1080 in test-output/ (view-filter-*.png)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from viewer.core.reslice import extract_plane
from viewer.core.view_filters import FILTERS
from viewer.core.view_state import Tool, ViewKind
from viewer.ui.view_filter_menu import LABEL_COLOUR, label_rect

from .test_ai_workflow import declare, fracatlas_image, require_model
from .test_screen_collisions import SIZES, analyze, open_radiograph, resize, size_name
from .viewer_helpers import drag, grab_screen, open_window, save, to_array, view_point

pytestmark = pytest.mark.gui

CLAHE, MEDIAN = "Contrast (CLAHE)", "Denoise (median 3×3)"


def label_pixels(pixels: np.ndarray, view, text: str) -> int:  # noqa: ANN001
    rect = label_rect(view, text)
    patch = pixels[int(rect.top()):int(rect.bottom()), int(rect.left()):int(rect.right())].astype(int)
    target = np.array([LABEL_COLOUR.red(), LABEL_COLOUR.green(), LABEL_COLOUR.blue()])
    return int((np.abs(patch - target).sum(axis=-1) < 60).sum())


def wait_filtered(qtbot, window, view) -> None:  # noqa: ANN001
    """Until the filtered slice is on screen (it is computed off the GUI thread)."""
    qtbot.waitUntil(lambda: view.filter_shown and not window.view_filters.busy(), timeout=120_000)


def image_area(view) -> tuple[slice, slice]:  # noqa: ANN001
    """Screen rows/cols of the middle of the image (away from the corner text)."""
    h, w = view.height(), view.width()
    return slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4)


def findings(window) -> list[tuple[str, float, tuple[float, ...]]]:  # noqa: ANN001
    return sorted((f.label, f.score, tuple(f.box_kji or ())) for f in window.ai.overlay.findings)


@pytest.mark.parametrize("size", SIZES, ids=size_name)
def test_filters_change_the_screen_not_the_data(qtbot, tmp_path: Path, lidc_dir: Path,  # noqa: ANN001
                                                output_dir: Path, size: tuple[int, int]) -> None:
    window = open_window(qtbot, tmp_path, lidc_dir)
    try:
        resize(qtbot, window, size)
        view, model = window.grid.views[ViewKind.AXIAL], window.model
        model.set_slice(0, 160)
        model.set_tool(Tool.ELLIPSE)
        drag(qtbot, view, view_point(view, 280, 340), view_point(view, 330, 400))
        [roi] = list(model.measurements)
        hovered: list[str] = []
        view.hovered.connect(hovered.append)
        view._emit_hover(view_point(view, 300, 300).toPointF())
        plain = to_array(grab_screen(view))
        save(grab_screen(window), output_dir, f"view-filter-none-{size_name(size)}.png")
        assert label_pixels(plain, view, FILTERS[CLAHE].label) == 0

        window.view_filters.actions[CLAHE].trigger()  # computed in a worker thread; the view waits not
        pending = to_array(view.render_image())  # a synchronous paint: no result can have arrived
        assert not view.filter_shown and window.view_filters.busy()
        assert label_pixels(pending, view, "filtering: CLAHE…") > 30  # says so, on the plain slice
        wait_filtered(qtbot, window, view)
        clahe = to_array(grab_screen(view))
        save(grab_screen(window), output_dir, f"view-filter-clahe-{size_name(size)}.png")
        assert label_pixels(clahe, view, FILTERS[CLAHE].label) > 30  # "filtered: CLAHE" is on the image
        rows, cols = image_area(view)
        changed = np.abs(clahe[rows, cols].astype(int) - plain[rows, cols]).max(axis=-1) > 8
        assert changed.mean() > 0.2  # the picture changed visibly
        # ...but not the data: plane, a new ROI on the same place, the value under the cursor
        assert np.array_equal(view.plane(), extract_plane(model.volume, "axial", 160, view.geometry))
        model.measurements.remove(roi.id)  # (a press on its handle would reshape it, not draw anew)
        drag(qtbot, view, view_point(view, 280, 340), view_point(view, 330, 400))
        [again] = list(model.measurements)
        assert again.points == roi.points and again.result == roi.result
        view._emit_hover(view_point(view, 300, 300).toPointF())
        assert hovered[-1] == hovered[0]
        window.plots.refresh_histogram()
        heights = window.plots.histogram.curve.getData()[1].copy()

        window.view_filters.actions[MEDIAN].trigger()
        wait_filtered(qtbot, window, view)
        median = to_array(grab_screen(view))
        assert label_pixels(median, view, FILTERS[MEDIAN].label) > 30
        assert np.abs(median[rows, cols].astype(int) - plain[rows, cols]).max(axis=-1).mean() > 1
        window.plots.refresh_histogram()
        assert np.array_equal(window.plots.histogram.curve.getData()[1], heights)  # unfiltered values

        window.view_filters.actions[None].trigger()
        assert np.array_equal(to_array(grab_screen(view)), plain)  # the very same pixels again
    finally:
        window.close()


def test_analysis_reads_the_unfiltered_image(qtbot, tmp_path: Path, shared_data: Path,  # noqa: ANN001
                                             output_dir: Path) -> None:
    require_model("fracture-radiograph")
    window = open_radiograph(qtbot, tmp_path, fracatlas_image(shared_data), (1280, 800))
    try:
        declare(window, "DX")
        analyze(qtbot, window)
        plain = findings(window)
        window.view_filters.set_filter(CLAHE)
        wait_filtered(qtbot, window, window.grid.views[ViewKind.AXIAL])
        window.ai.summary = None
        analyze(qtbot, window)
        filtered = findings(window)
        save(grab_screen(window), output_dir, "view-filter-clahe-fracatlas-1280x800.png")
        assert plain and filtered == plain  # same findings, same scores
    finally:
        window.close()
