"""The viewer shows the findings of a RadSight SR that sits beside the series it describes:
LIDC-0314 opened in the real main window (pytest-qt, Xvfb) next to an SR of the readers' nodule."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import Lidc, masked_finding
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from viewer.core.map_planes import box_on_plane
from viewer.dicom_out.results import write_dicom_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
from viewer_helpers import grab_screen, open_window, save, to_array  # noqa: E402

pytestmark = pytest.mark.gui


def test_findings_of_an_sr_beside_the_series_are_listed_and_drawn(qtbot, lidc: Lidc, tmp_path: Path,  # noqa: ANN001
                                                                  output_dir: Path) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    for path in lidc.files:
        (folder / path.name).symlink_to(path)
    finding = masked_finding(lidc.volume, lidc.mask)
    assert write_dicom_results(folder, [finding], {}, lidc.source).written == ["sr.dcm", "seg.dcm"]
    (folder / "seg.dcm").unlink()  # the SEG is a series of its own: open the CT, not it
    window = open_window(qtbot, tmp_path, folder)
    qtbot.waitUntil(lambda: len(window.findings_panel.findings) == 1, timeout=30_000)
    [shown] = window.findings_panel.findings
    assert (shown.id, shown.label, shown.model) == (finding.id, "nodule", "nodule-ct")
    assert shown.box_kji == pytest.approx(finding.box_kji, abs=1e-3)
    assert "from a RadSight DICOM SR" in window.ai.run_label.text()
    table = window.findings_panel.table
    item = table.item(window.findings_panel.row_of(shown.id), 0)
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(item).center())
    qtbot.waitUntil(lambda: window.ai_overlay.selected_id == shown.id, timeout=5_000)
    view = window.grid.current
    assert box_on_plane(shown.box_kji, view.geometry, (view.slice_index, view.slice_index + 1)) is not None
    pixels = to_array(grab_screen(view)).astype(int)
    save(grab_screen(window), output_dir, "dicom_sr_finding_in_viewer.png")
    selected = np.abs(pixels - (0, 255, 255)).sum(axis=2) < 60  # the selected finding's box
    assert selected.sum() > 40, "the finding's box is not drawn on the view"
