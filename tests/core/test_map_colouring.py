"""Map colouring and map planes without Qt: alpha ramp, floor, colour bar, a map of the wrong shape."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.core.map_colouring import colour_bar_rgba, heat_colours, heat_rgba
from viewer.core.map_planes import map_plane
from viewer.core.volume import Volume


def test_alpha_follows_opacity_times_heat_above_the_floor() -> None:
    rgba = heat_rgba(np.array([[0.0, 0.5, 1.0]]), 0.8)
    assert list(rgba[0, :, 3]) == [0, 102, 204]
    assert heat_rgba(np.ones((2, 2)), 0.0)[..., 3].max() == 0
    assert list(heat_rgba(np.array([[0.1, 0.2, 0.6, 1.0]]), 1.0, floor=0.2)[0, :, 3]) == [0, 0, 128, 255]


def test_scale_runs_blue_to_red_and_the_bar_is_opaque() -> None:
    cold, hot = heat_colours(np.array([0.0, 1.0]))
    assert cold[2] > cold[0] and hot[0] > hot[2]
    bar = colour_bar_rgba(100, 10)
    assert bar.shape == (100, 10, 4) and (bar[..., 3] == 255).all()
    assert bar[0, 0, 0] > bar[0, 0, 2] and bar[-1, 0, 2] > bar[-1, 0, 0]  # red on top, blue below


def test_a_map_of_another_shape_is_refused() -> None:
    volume = Volume(np.zeros((4, 5, 6), np.int16), (1.0, 1.0, 1.0), modality="CT")
    with pytest.raises(ValueError, match="not the volume's"):
        map_plane(np.zeros((3, 5, 6), np.float32), volume, "axial", 0)
