"""The 3D view's preparation leaves the GUI thread free: a CT's body and lung masks
(`viewer.core.body_regions`, ~1.5 s of SimpleITK on two cores) are computed in a thread of their own
while the window keeps handling input; the 3D view gets the volume once they are ready, without
its table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from viewer.core.body_regions import regions_ready
from viewer.core.view_state import ViewKind

from .viewer_helpers import open_window

pytestmark = pytest.mark.gui


def test_the_masks_are_computed_while_the_window_handles_input(qtbot, tmp_path: Path,  # noqa: ANN001
                                                              lidc_dir: Path) -> None:
    window = open_window(qtbot, tmp_path, lidc_dir, layout="2x2")
    grid, volume = window.grid, window.model.volume
    # seen from the GUI thread while the mask thread runs: the event loop is not blocked by it
    qtbot.waitUntil(lambda: grid._regions_thread is not None and grid._regions_thread.is_alive(),
                    timeout=30_000)
    assert window.status_label.text() == "Preparing the 3D view…"
    axial = grid.views[ViewKind.AXIAL]
    before = axial.slice_index
    axial.setFocus()
    qtbot.keyClick(axial, Qt.Key.Key_Down)  # paging works meanwhile
    assert axial.slice_index != before
    qtbot.waitUntil(lambda: grid.view_3d.scene.volume is volume, timeout=60_000)
    assert regions_ready(volume) and grid._regions_thread is None  # joined in the GUI thread
    assert window.status_label.text() == "3D view ready"
    # the rendered voxels are the body without the table: air (−1000 HU) below the patient's back
    rendered = grid.view_3d.scene._keep[0]
    assert rendered.shape == volume.shape
    below_back = rendered[:, -20:, :]  # the last rows (posterior), where LIDC-0314's table lies
    assert np.all(below_back == -1000) and not np.all(volume.voxels[:, -20:, :] <= -900)
