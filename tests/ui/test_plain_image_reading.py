"""A plain image (FracAtlas JPEG) before and after the reader declares what it shows: Analyze says
once, in plain words, where to declare it (never "0 finding(s)"); after declaring DX the corner
text says DX (declared), not OT."""

from __future__ import annotations

from pathlib import Path

import pytest

from viewer.core.view_state import ViewKind
from viewer.ui.ai_reading import PLAIN_IMAGE_HINT
from viewer.ui.slice_annotations import corner_lines

from .test_ai_workflow import ANALYSIS_TIMEOUT_MS, declare, fracatlas_image, require_model
from .viewer_helpers import grab_screen, open_window, save

pytestmark = pytest.mark.gui


def test_undeclared_plain_image_says_where_to_declare(qtbot, tmp_path: Path, shared_data: Path,  # noqa: ANN001
                                                      output_dir: Path) -> None:
    require_model("fracture-radiograph")
    window = open_window(qtbot, tmp_path, fracatlas_image(shared_data))
    window.resize(1280, 800)
    view = window.grid.views[ViewKind.AXIAL]
    assert corner_lines(view)["top_right"][0] == "OT"
    window.analyze_action.trigger()
    qtbot.waitUntil(lambda: not window.ai.running and window.ai.summary is not None,
                    timeout=ANALYSIS_TIMEOUT_MS)
    text = window.status_label.text()
    assert text == PLAIN_IMAGE_HINT and window.ai.run_label.text() == PLAIN_IMAGE_HINT
    assert "finding" not in text and text.count("declare") == 1
    save(grab_screen(window), output_dir, "reading-room-plain-image-undeclared-1280x800.png")
    declare(window, "DX")
    assert corner_lines(view)["top_right"][0] == "DX (declared)"
    window.ai.declare_plain_image(None)
    assert corner_lines(view)["top_right"][0] == "OT"
    window.close()
