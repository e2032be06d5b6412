"""Label placement: off other labels and shapes, inside the view, on dark pixels."""

from __future__ import annotations

import numpy as np

from viewer.core.label_placement import BrightnessMap, best_place, candidates_around, intersection


def test_the_conventional_place_wins_when_nothing_is_in_the_way() -> None:
    candidates = candidates_around((100, 100, 20, 20), (50, 14))
    assert best_place(candidates, []) == candidates[0] == (126, 100, 50, 14)  # right of the box


def test_a_taken_place_is_avoided() -> None:
    candidates = candidates_around((100, 100, 20, 20), (50, 14))
    other_label = (126, 100, 50, 14)
    chosen = best_place(candidates, [other_label])
    assert intersection(chosen, other_label) == 0


def test_a_place_outside_the_view_is_avoided() -> None:
    candidates = candidates_around((180, 100, 15, 15), (50, 14))
    chosen = best_place(candidates, [], bounds=(0, 0, 200, 200))
    assert chosen[0] + chosen[2] <= 200


def test_a_bright_marker_is_avoided_and_outside_the_image_counts_as_dark() -> None:
    plane = np.full((100, 100), 10.0)
    plane[40:60, 60:95] = 255.0  # a burned-in marker right of the box
    brightness = BrightnessMap(plane, lambda x, y: (y, x))  # screen = plane, 1:1
    assert brightness((60, 40, 35, 20)) == 1.0 and brightness((5, 5, 20, 10)) == 0.0
    assert brightness((-50, -50, 20, 10)) == 0.0  # outside the image: black on screen
    candidates = candidates_around((40, 45, 15, 10), (30, 12))
    chosen = best_place(candidates, [], brightness)
    assert brightness(chosen) == 0.0 and chosen != candidates[0]
