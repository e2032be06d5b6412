"""SliceView on small volumes: windowing through the lookup table, overlay layers, capture."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor

from viewer.core.view_state import ViewerModel, ViewKind
from viewer.core.volume import Volume
from viewer.core.windowing import Window, apply_window
from viewer.ui.slice_view import SliceView, WindowLut

from .viewer_helpers import to_array


def test_lut_matches_apply_window_for_all_integer_types() -> None:
    rng = np.random.default_rng(1)
    window = Window(-600, 1500)
    for dtype in (np.int16, np.uint16, np.uint8, np.int8):
        info = np.iinfo(dtype)
        plane = rng.integers(info.min, info.max, (64, 64), endpoint=True).astype(dtype)
        for invert in (False, True):
            expected = apply_window(plane, window, invert)
            assert np.array_equal(WindowLut().apply(plane, window, invert), expected)
    floats = rng.normal(0, 500, (8, 8)).astype(np.float32)
    assert np.array_equal(WindowLut().apply(floats, window, False), apply_window(floats, window))


def test_layers_are_drawn_over_the_image(qtbot) -> None:
    model = ViewerModel()
    model.set_volume(Volume(np.zeros((3, 40, 40), np.int16), (1, 1, 1), modality="CT"))
    view = SliceView(model, ViewKind.AXIAL)
    qtbot.addWidget(view)
    view.resize(200, 200)
    view.add_layer(lambda painter, v: painter.fillRect(QRectF(90, 90, 20, 20), QColor(255, 0, 0)))
    pixels = to_array(view.render_image())
    assert tuple(pixels[100, 100]) == (255, 0, 0)
    grey = int(apply_window(np.zeros(1), model.window)[0])  # 0 HU in the initial (mediastinum) window
    assert tuple(pixels[150, 50]) == (grey, grey, grey)


def test_large_images_are_reduced_by_averaging_not_aliased(qtbot) -> None:
    """A 1-pixel checkerboard shown at 1/5 size reads as even mid-grey (block mean), not moiré."""
    rows, cols = np.indices((2000, 2000))
    checker = ((rows + cols) % 2 * 1000).astype(np.int16)[np.newaxis]
    model = ViewerModel()
    model.set_volume(Volume(checker, (1, 0.2, 0.2), modality="DX", default_window=Window(500, 1000)))
    view = SliceView(model, ViewKind.AXIAL)
    qtbot.addWidget(view)
    view.resize(400, 400)
    pixels = to_array(view.render_image())[150:250, 150:250].astype(float)
    expected = float(apply_window(np.array([500.0]), Window(500, 1000))[0])
    assert abs(pixels.mean() - expected) < 3 and pixels.std() < 8  # odd blocks: 12 or 13 of 25 lit
