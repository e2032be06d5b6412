"""Triage columns in the real study browser over real DICOM studies, from a real feedback db."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from viewer.core.dicom_index import index_path
from viewer.core.feedback_db import FeedbackDB
from viewer.ui.study_browser import StudyBrowser
from viewer.ui.triage_columns import (
    AI_COLUMN,
    FLAG_COLOUR,
    SCORE_COLUMN,
    refresh_triage,
    sort_by_triage,
    study_rows,
)

from .viewer_helpers import save, settled_grab, to_array


def test_columns_flag_and_sort(qtbot, dicom_data: Path, tmp_path: Path, output_dir: Path) -> None:  # noqa: ANN001
    studies = tmp_path / "studies"
    studies.mkdir()
    for name in ("ge-head-ct-gantry-tilt", "ge-brain-mr-20", "dcm_qa_ts"):
        if not (dicom_data / name).is_dir():
            pytest.skip(f"{dicom_data / name} not found")
        shutil.copytree(dicom_data / name, studies / name)
    index = index_path(studies)
    browser = StudyBrowser()
    qtbot.addWidget(browser)
    browser.resize(900, 300)
    browser.show()
    qtbot.waitExposed(browser)
    browser.set_index(index)
    uids = [uid for _, uid in study_rows(browser)]
    assert len(set(uids)) >= 3
    flagged_uid, analysed_uid = uids[-1], uids[0]
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        finding = {"id": "f1", "label": "nodule", "score": 0.87, "passes_operating_point": True}
        db.record_analysis(flagged_uid, "1.2.3", "nodule-ct", "1", [finding])
        db.record_analysis(analysed_uid, "1.2.4", "nodule-ct", "1",
                           [{"id": "f2", "label": "nodule", "score": 0.12, "passes_operating_point": False}])
        triage = refresh_triage(browser, db)
    texts = {uid: (row.text(AI_COLUMN), row.text(SCORE_COLUMN)) for row, uid in study_rows(browser)}
    assert texts[flagged_uid] == ("AI finding", "0.87") and texts[analysed_uid] == ("analysed", "0.12")
    assert all(texts[uid] == ("not analysed", "") for uid in uids[1:-1])
    assert browser.headerItem().text(AI_COLUMN) == "AI"
    sort_by_triage(browser, triage)
    order = [uid for _, uid in study_rows(browser)]
    assert order[0] == flagged_uid and order[1] == analysed_uid and sorted(order) == sorted(uids)
    row = next(r for r, uid in study_rows(browser) if uid == flagged_uid)
    assert row.font(AI_COLUMN).bold() and row.foreground(AI_COLUMN).color() == FLAG_COLOUR
    image = settled_grab(qtbot, browser)
    save(image, output_dir, "triage_study_browser.png")
    pixels = to_array(image).astype(int)
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert red.sum() > 20 and np.nonzero(red)[0].min() < 80  # red text near the top: flagged first
