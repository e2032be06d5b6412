"""The AI reading workflow in the real main window, with the shipped models and a real SQLite file.

LIDC-0314 (chest CT) with nodule-ct, a FracAtlas radiograph with fracture-radiograph and a brain
MRI slice with tumour-mri: Analyze from the toolbar, the finding is listed in the findings panel,
clicking it moves the views to it, the heat map is over it on the screen (and not elsewhere),
opacity 0 hides it, verdicts survive closing and reopening the window on the same database, the
status bar names each model's provider and time and the models that did not apply and why.
Each test is skipped, with the reason, while its model's package is not installed.
"""

from __future__ import annotations

import csv
import re
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolBar

from ai.findings import Finding
from ai.region_map import full_map
from ai.registry import builtin_models_dir
from viewer.core.map_planes import box_on_plane, map_plane
from viewer.core.view_state import ViewKind
from viewer.ui.ai_worker import AnalysisSummary
from viewer.ui.main_window import MainWindow
from viewer.ui.slice_view import SliceView
from viewer.ui.triage_columns import AI_COLUMN, study_rows

from .test_ai_reading import annotated_nodule
from .viewer_helpers import grab_screen, open_window, save, to_array, view_point

pytestmark = pytest.mark.gui

ANALYSIS_TIMEOUT_MS = 600_000
NODULE_Z_MM = (-529.0, -511.0)  # the readers' nodule on LIDC-0314 (ImagePositionPatient z)


def require_model(name: str) -> None:
    if not installed(name):
        pytest.skip(f"shipped model {name} not installed yet (resources/models/{name}/model.json)")


def run_analyze(qtbot, window: MainWindow) -> AnalysisSummary:  # noqa: ANN001
    """Click the toolbar's Analyze button and wait for the analysis to end."""
    toolbar = window.findChild(QToolBar, "toolbar-main")
    button = toolbar.widgetForAction(window.analyze_action)
    shown: list[tuple[int, str]] = []
    window.progress.valueChanged.connect(lambda value: shown.append((value, window.status_label.text())))
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.ai.running and window.cancel_analysis_action.isEnabled()
    assert not window.progress.isHidden()
    qtbot.waitUntil(lambda: not window.ai.running, timeout=ANALYSIS_TIMEOUT_MS)
    assert shown and shown[-1][0] == 100, shown  # progress reached the window while it ran
    assert any(text.startswith("Running ") for _, text in shown), shown
    assert window.progress.isHidden() and window.analyze_action.isEnabled()
    assert window.ai.summary is not None, window.status_label.text()
    return window.ai.summary


def installed(name: str) -> bool:
    return (builtin_models_dir() / name / "model.json").is_file()


def check_status(window: MainWindow, model: str, out_of_scope: str) -> None:
    """The status bar names the model, its provider and time, and (when it is installed) the
    model that does not apply, with the reason in words."""
    text = window.status_label.text()
    assert re.search(rf"{model} \S+ on (CPU|CUDA) in \d+\.\d s", text), text
    if installed(out_of_scope):
        reason = re.search(rf"{out_of_scope} not run: ([^;]+)", text)
        assert reason and len(reason.group(1).split()) >= 3, text  # a reason in words, not a code


def click_finding(qtbot, window: MainWindow, finding: Finding) -> None:  # noqa: ANN001
    table = window.findings_panel.table
    row = window.findings_panel.row_of(finding.id)
    assert row is not None, f"{finding.label} not in the findings panel"
    item = table.item(row, 0)
    table.scrollToItem(item)
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(item).center())
    qtbot.waitUntil(lambda: window.ai_overlay.selected_id == finding.id, timeout=5_000)


def heat_on_screen(qtbot, window: MainWindow, view: SliceView) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Screen pixels of ``view`` with the heat map on, and without it (toggled with the H action)."""
    assert window.ai_overlay.heat_visible
    shown = to_array(grab_screen(view)).astype(int)
    window.heat_action.trigger()
    assert not window.ai_overlay.heat_visible
    hidden = to_array(grab_screen(view)).astype(int)
    window.heat_action.trigger()
    return shown, hidden


def check_heat_over(qtbot, window: MainWindow, view: SliceView, region: np.ndarray,  # noqa: ANN001
                    name: str, output_dir: Path) -> None:
    """The heat map colours ``region`` of the screen more than the rest; opacity 0 hides it."""
    shown, hidden = heat_on_screen(qtbot, window, view)
    save(grab_screen(view), output_dir, f"{name}_view.png")
    changed = np.abs(shown - hidden).sum(axis=2)  # the heat layer's colour, per screen pixel
    elsewhere = ~region
    elsewhere[:, view.width() - 40:] = False  # (the colour bar at the right edge)
    inside, outside = changed[region].mean(), changed[elsewhere].mean()
    tinted = (changed[region] > 20).mean()
    assert inside > 3 * outside, f"no more heat over the finding ({inside:.1f}) than around ({outside:.1f})"
    assert tinted > 0.1, f"heat visible on only {tinted:.0%} of the finding's region"
    window.ai.controls.opacity.setValue(0)  # the opacity slider
    assert window.ai_overlay.opacity == 0.0
    faded = to_array(grab_screen(view)).astype(int)
    save(grab_screen(view), output_dir, f"{name}_opacity0.png")
    assert np.abs(faded - hidden).sum(axis=2).max() == 0, "opacity 0 still shows the heat map"
    window.ai.controls.opacity.setValue(50)


def give_verdicts(window: MainWindow, verdicts: dict[str, tuple[Finding, str]]) -> None:
    panel = window.findings_panel
    for comment, (finding, verdict) in verdicts.items():
        panel.select(finding.id)
        panel.comment.setText(comment)
        QTest.mouseClick(panel.buttons[verdict], Qt.MouseButton.LeftButton)
        assert panel.verdict_of(finding.id).verdict == verdict


def reopen(qtbot, tmp_path: Path, path: Path, window: MainWindow) -> MainWindow:  # noqa: ANN001
    """Close the window (it closes the database) and open ``path`` in a new one."""
    db_path = window.feedback_db.path
    window.close()
    again = open_window(qtbot, tmp_path, path)
    assert again.feedback_db.path == db_path
    return again


def check_verdicts_kept(window: MainWindow, verdicts: dict[str, tuple[Finding, str]]) -> None:
    panel = window.findings_panel
    for comment, (finding, verdict) in verdicts.items():
        kept = panel.verdict_of(finding.id)
        assert kept is not None and (kept.verdict, kept.comment) == (verdict, comment)
        row = panel.row_of(finding.id)
        text = panel.table.item(row, 3).text()
        assert text.startswith({"accept": "accepted", "reject": "rejected"}[verdict]) and comment in text


# --- LIDC-0314 with nodule-ct ------------------------------------------------------------------
def nodule_hit(window: MainWindow, lidc_dir: Path, summary: AnalysisSummary) -> Finding:
    volume = window.model.volume
    centre, _ = annotated_nodule(volume, lidc_dir.parent / "annotations")
    nodule_mm = volume.index_to_patient(centre)
    hits = [f for f in summary.findings if f.model == "nodule-ct" and f.passes_operating_point
            and f.center_mm is not None and np.linalg.norm(np.subtract(f.center_mm, nodule_mm)) < 15.0]
    assert hits, f"the annotated nodule is not marked by nodule-ct: {summary.status_text()}"
    return hits[0]


def test_lidc_analyze_jump_heat_and_feedback_survive_restart(qtbot, tmp_path: Path, lidc_dir: Path,  # noqa: ANN001
                                                             output_dir: Path) -> None:
    require_model("nodule-ct")
    window = open_window(qtbot, tmp_path, lidc_dir, layout="1x2")
    window.model.apply_named_preset("lung")
    summary = run_analyze(qtbot, window)
    check_status(window, "nodule-ct", "tumour-mri")
    hit = nodule_hit(window, lidc_dir, summary)
    panel = window.findings_panel
    assert [f.id for f in panel.findings] == [f.id for f in summary.findings]
    marked = {f.id for f in summary.findings if f.marked}
    assert {f.id for f in panel.visible_findings()} == {f.id for f in window.ai_overlay.findings} == marked
    assert study_text(window) in ("AI finding", "analysed")
    click_finding(qtbot, window, hit)
    axial, coronal = window.grid.views[ViewKind.AXIAL], window.grid.views[ViewKind.CORONAL]
    k = round(hit.center_kji[0])
    assert axial.slice_index == k and window.model.cursor[0] == k
    z = window.model.volume.slice_position(k)[2]
    assert NODULE_Z_MM[0] - 1 <= z <= NODULE_Z_MM[1] + 1, f"axial view at z = {z:.1f} mm"
    for view in (axial, coronal):  # the nodule is at the centre of every view
        row, col, _ = view.geometry.from_index(hit.center_kji)
        point = view_point(view, row, col)
        assert abs(point.x() - view.width() / 2) <= 2 and abs(point.y() - view.height() / 2) <= 2
    save(grab_screen(window), output_dir, "ai_workflow_lidc_window.png")
    check_heat_over(qtbot, window, axial, box_region(axial, hit), "ai_workflow_lidc_axial", output_dir)
    others = [f for f in panel.visible_findings() if f.id != hit.id]
    verdicts = {"real nodule": (hit, "accept")} | ({"vessel": (others[0], "reject")} if others else {})
    give_verdicts(window, verdicts)
    check_3d_findings(qtbot, window, output_dir)
    window = reopen(qtbot, tmp_path, lidc_dir, window)
    check_verdicts_kept(window, verdicts)
    assert {f.id for f in window.ai_overlay.findings} == marked  # their boxes again
    assert "nodule-ct 3.1.0 on CPU" in window.ai.run_label.text() or "on CUDA" in window.ai.run_label.text()
    save(grab_screen(window), output_dir, "ai_workflow_lidc_reopened.png")


def study_text(window: MainWindow) -> str:
    texts = [row.text(AI_COLUMN) for row, uid in study_rows(window.browser)
             if uid == window.model.volume.study_instance_uid]
    assert texts, "the study is not in the browser"
    return texts[0]


def check_3d_findings(qtbot, window: MainWindow, output_dir: Path) -> None:  # noqa: ANN001
    """In the 2×2 layout the 3D view shows a box and a marker per finding."""
    window.set_layout("2x2")
    qtbot.waitUntil(lambda: window.ai.actors is not None, timeout=120_000)
    actors = window.ai.actors
    assert set(actors.actors) == {f.id for f in window.ai_overlay.findings}
    renderer = window.grid.view_3d.scene.markers  # the layer above the volume
    for parts in actors.actors.values():
        assert parts and all(renderer.HasViewProp(a) for a in parts)
    assert actors.selected_id == window.ai_overlay.selected_id
    save(grab_screen(window), output_dir, "ai_workflow_lidc_2x2.png")
    window.set_layout("1x2")


# --- 2D: FracAtlas radiograph with fracture-radiograph, brain MRI with tumour-mri -------------
def fracatlas_image(shared_data: Path) -> Path:
    """A fractured radiograph from the fracture model's held-out test split (else the first)."""
    folder = shared_data / "labelled" / "fracatlas" / "images" / "Fractured"
    split = builtin_models_dir() / "fracture-radiograph" / "split.csv"
    if split.is_file():
        with open(split, newline="") as handle:
            test = sorted(r["id"] for r in csv.DictReader(handle)
                          if r["split"] == "test" and r["label"] == "fractured")
        for name in test:
            if (folder / f"{name}.jpg").is_file():
                return folder / f"{name}.jpg"
    images = sorted(folder.glob("*.jpg"))
    if not images:
        pytest.skip(f"no FracAtlas radiograph under {folder}")
    return images[0]


def brain_mri_image(shared_data: Path) -> Path:
    image = shared_data / "labelled" / "brain-tumor-mri" / "glioma" / "1841.jpg"
    if not image.is_file():
        pytest.skip(f"{image} not found")
    return image


#: case → model, image, where its heat must show: "box" (the fracture box is drawn around the
#: hottest part of its map) or "hot" (the tumour box comes from a box head, not from the map).
CASES = {"fracatlas": ("fracture-radiograph", fracatlas_image, "box", "DX"),
         "brain-mri": ("tumour-mri", brain_mri_image, "hot", "MR")}
#: the other 2D model, which must not run once the reader has said what the image shows
OTHER_2D = {"fracture-radiograph": "tumour-mri", "tumour-mri": "fracture-radiograph"}


def declare(window: MainWindow, kind: str) -> None:
    """The reader says what a plain image shows, from the AI menu (AI › Plain image shows)."""
    window.ai.kind_actions[kind].trigger()
    assert window.ai.plain_image_kind == kind


def screen_plane_index(view: SliceView) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per screen pixel: the plane (row, col) under it, and whether that lies in the plane."""
    t, (rows, cols) = view.transform(), view.geometry.shape
    yy, xx = np.mgrid[0:view.height(), 0:view.width()]
    row, col = np.floor((yy - t.y0) / t.sy).astype(int), np.floor((xx - t.x0) / t.sx).astype(int)
    inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    return np.clip(row, 0, rows - 1), np.clip(col, 0, cols - 1), inside


def box_region(view: SliceView, finding: Finding) -> np.ndarray:
    r0, c0, r1, c1 = box_on_plane(finding.box_kji, view.geometry, (view.slice_index, view.slice_index + 1))
    row, col, inside = screen_plane_index(view)
    return inside & (row >= r0) & (row <= r1) & (col >= c0) & (col <= c1)


def hot_region(view: SliceView, heat: np.ndarray, level: float = 0.6) -> np.ndarray:
    """Screen pixels over the hottest part of a map (on the volume grid)."""
    plane = map_plane(heat, view.model.volume, str(view.state.kind), view.slice_index, geometry=view.geometry)
    row, col, inside = screen_plane_index(view)
    return inside & (np.asarray(plane, np.float32)[row, col] >= level)


@pytest.mark.parametrize("case", list(CASES))
def test_2d_analyze_jump_heat_and_feedback_survive_restart(qtbot, tmp_path: Path, shared_data: Path,  # noqa: ANN001
                                                           output_dir: Path, case: str) -> None:
    model, find_image, region, kind = CASES[case]
    require_model(model)
    image = find_image(shared_data)
    window = open_window(qtbot, tmp_path, image)
    declare(window, kind)
    summary = run_analyze(qtbot, window)
    check_status(window, model, "nodule-ct")
    other = OTHER_2D[model]
    assert not any(f.model == other for f in summary.findings)
    if installed(other):
        assert f"{other} not run: model '{other}' is for" in window.status_label.text()
        assert f"this one is {kind}" in window.status_label.text()
    finding = next((f for f in summary.findings if f.model == model), None)
    assert finding is not None and finding.box_kji is not None, summary.status_text()
    click_finding(qtbot, window, finding)
    view = window.grid.views[ViewKind.AXIAL]
    row, col, _ = view.geometry.from_index(finding.center_kji)
    point = view_point(view, row, col)
    assert abs(point.x() - view.width() / 2) <= 2 and abs(point.y() - view.height() / 2) <= 2
    save(grab_screen(window), output_dir, f"ai_workflow_{case}_window.png")
    if region == "box":
        where = box_region(view, finding)
    else:
        assert finding.explanation in summary.maps, f"{model} gave no explanation map"
        where = hot_region(view, full_map(summary.maps[finding.explanation]))
    check_heat_over(qtbot, window, view, where, f"ai_workflow_{case}", output_dir)
    verdicts = {"agree": (finding, "accept")}
    give_verdicts(window, verdicts)
    window = reopen(qtbot, tmp_path, image, window)
    check_verdicts_kept(window, verdicts)


def test_shortcuts_agreement_and_missed_finding_in_the_window(qtbot, tmp_path: Path, shared_data: Path,  # noqa: ANN001
                                                              output_dir: Path) -> None:
    require_model("tumour-mri")
    image = brain_mri_image(shared_data)
    window = open_window(qtbot, tmp_path, image)
    assert window.ai.findings_dock.isHidden()  # no AI used on this image yet
    axial = window.grid.views[ViewKind.AXIAL]
    declare(window, "MR")
    window.activateWindow()  # (window shortcuts need the active window; Xvfb has no window manager)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    axial.setFocus()
    qtbot.keyClick(axial, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # Analyze
    assert window.ai.running or window.ai.summary is not None, window.status_label.text()
    qtbot.waitUntil(lambda: window.ai.summary is not None and not window.ai.running,
                    timeout=ANALYSIS_TIMEOUT_MS)
    assert window.ai.findings_dock.isVisible()
    qtbot.keyClick(axial, Qt.Key.Key_H)
    assert not window.ai_overlay.heat_visible and not window.ai.controls.heat.isChecked()
    qtbot.keyClick(axial, Qt.Key.Key_H)
    assert window.ai_overlay.heat_visible
    comment = window.findings_panel.comment  # typing in the comment field is not a shortcut
    comment.setFocus()
    qtbot.keyClicks(comment, "Hh")
    qtbot.keyClick(comment, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert comment.text() == "Hh" and comment.selectedText() == "Hh"
    assert window.ai_overlay.heat_visible and not window.ai.running
    comment.clear()
    finding = next(f for f in window.ai.summary.findings if f.model == "tumour-mri")
    give_verdicts(window, {"not a tumour": (finding, "reject")})
    assert "tumour-mri" in window.agreement_plot.curves  # the agreement monitor has the verdict
    panel = window.findings_panel
    panel.missed_label.setText("second lesion")
    QTest.mouseClick(panel.missed_button, Qt.MouseButton.LeftButton)
    assert panel.missed_mode
    QTest.mouseClick(axial, Qt.MouseButton.LeftButton, pos=view_point(axial, 100, 120))
    assert not panel.missed_mode
    [missed] = window.feedback_db.missed_findings(window.model.volume.series_instance_uid)
    assert missed.label == "second lesion" and tuple(round(v) for v in missed.center_kji) == (0, 100, 120)
    window.heat_action.trigger()  # (heat off: look for the mark on the plain image)
    pixels = to_array(grab_screen(axial)).astype(int)
    save(grab_screen(axial), output_dir, "ai_workflow_missed_mark.png")
    window.heat_action.trigger()
    at = view_point(axial, 100, 120)
    magenta = (pixels[..., 0] > 200) & (pixels[..., 1] < 60) & (pixels[..., 2] > 200)
    ys, xs = np.nonzero(magenta)
    assert len(xs) > 10 and np.hypot(xs - at.x(), ys - at.y()).min() < 3  # the cross at the click
    window.ai.agreement_dock.raise_()
    save(grab_screen(window), output_dir, "ai_workflow_agreement.png")


def test_escape_cancels_a_running_analysis(qtbot, tmp_path: Path, lidc_dir: Path) -> None:  # noqa: ANN001
    require_model("nodule-ct")
    window = open_window(qtbot, tmp_path, lidc_dir)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    axial = window.grid.views[ViewKind.AXIAL]
    axial.setFocus()
    assert not window.cancel_analysis_action.isEnabled()  # Esc belongs to the views until Analyze
    window.analyze_action.trigger()
    assert window.ai.running and window.cancel_analysis_action.isEnabled()
    qtbot.keyClick(axial, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.ai.running, timeout=ANALYSIS_TIMEOUT_MS)
    summary = window.ai.summary
    assert summary is not None and summary.cancelled and not summary.runs
    assert window.status_label.text().startswith("Analysis cancelled")
    assert window.progress.isHidden() and not window.cancel_analysis_action.isEnabled()
    assert window.feedback_db.analyses(window.model.volume.series_instance_uid) == []
    assert window.findings_panel.findings == []


def test_study_browser_triage_and_sort_by_ai(qtbot, tmp_path: Path, dicom_data: Path) -> None:  # noqa: ANN001
    require_model("nodule-ct")
    studies = tmp_path / "studies"
    for name in ("ge-brain-mr-20", "dcm_qa_ts", "lidc-idri-0314"):
        if not (dicom_data / name).is_dir():
            pytest.skip(f"{dicom_data / name} not found")
        shutil.copytree(dicom_data / name, studies / name)
    window = open_window(qtbot, tmp_path, studies)  # opens the largest series: LIDC-0314
    analysed = window.model.volume.study_instance_uid
    before = [uid for _, uid in study_rows(window.browser)]
    assert len(set(before)) >= 3 and before[-1] == analysed
    assert {row.text(AI_COLUMN) for row, _ in study_rows(window.browser)} == {"not analysed"}
    run_analyze(qtbot, window)
    assert study_text(window) == "AI finding"  # nodules above the operating point: flagged
    window.sort_by_ai_action.trigger()
    after = [uid for _, uid in study_rows(window.browser)]
    assert after[0] == analysed and sorted(after) == sorted(before)
    lidc_series, n_marked = window.series, len(window.ai_overlay.findings)
    other = next(item.data(0, Qt.ItemDataRole.UserRole) for item in window.browser.series_items()
                 if item.data(0, Qt.ItemDataRole.UserRole).study_instance_uid != analysed)
    for series, marked in ((other, 0), (lidc_series, n_marked)):  # another series, then back
        window.load_series(series)
        qtbot.waitUntil(lambda s=series: window.model.complete and not window.is_loading()
                        and window.model.volume.series_instance_uid == s.series_instance_uid, timeout=60_000)
        assert len(window.ai_overlay.findings) == marked and not window.ai_overlay.maps
        assert len(window.findings_panel.visible_findings()) == marked


def test_analyze_waits_for_the_whole_series_and_closing_stops_it(qtbot, tmp_path: Path,  # noqa: ANN001
                                                                  lidc_dir: Path) -> None:
    require_model("nodule-ct")
    window = MainWindow(QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.analyze_action.trigger()
    assert not window.ai.running and window.status_label.text() == "Open a series first"
    window.open_path(lidc_dir)
    qtbot.waitUntil(lambda: window.model.volume is not None, timeout=60_000)
    if not window.model.complete:  # (LIDC-0314 takes about a second to read: usually caught here)
        window.analyze_action.trigger()
        assert not window.ai.running and "loaded completely" in window.status_label.text()
    qtbot.waitUntil(lambda: window.model.complete and not window.is_loading(), timeout=60_000)
    window.analyze_action.trigger()
    assert window.ai.running
    thread = window.ai.thread
    window.close()  # cancels the analysis and waits for it
    assert thread is not None and not thread.isRunning()


def test_a_newer_feedback_database_does_not_stop_the_window(qtbot, tmp_path: Path, shared_data: Path,  # noqa: ANN001
                                                            private_data_dir: Path) -> None:
    require_model("tumour-mri")
    newer = sqlite3.connect(private_data_dir / "feedback.sqlite3")
    newer.execute("PRAGMA user_version = 99")  # written by a future RadSight
    newer.commit()
    newer.close()
    window = open_window(qtbot, tmp_path, brain_mri_image(shared_data))
    assert "written by a newer RadSight" in window.ai.db_problem
    assert "verdicts will not be kept" in window.ai.run_label.text()
    declare(window, "MR")
    summary = run_analyze(qtbot, window)
    assert any(f.model == "tumour-mri" for f in summary.findings)  # the AI still works
    with sqlite3.connect(private_data_dir / "feedback.sqlite3") as kept:  # and the file is untouched
        assert kept.execute("PRAGMA user_version").fetchone()[0] == 99


def test_a_plain_image_runs_no_model_until_the_reader_says_what_it_shows(qtbot, tmp_path: Path,  # noqa: ANN001
                                                                        shared_data: Path) -> None:
    """A JPEG carries no modality: the brain-MRI model must not read an arm radiograph, nor the
    fracture model a brain slice, so nothing runs until the reader declares the image."""
    require_model("tumour-mri")
    window = open_window(qtbot, tmp_path, fracatlas_image(shared_data))
    window.analyze_action.trigger()
    qtbot.waitUntil(lambda: not window.ai.running and window.ai.summary is not None,
                    timeout=ANALYSIS_TIMEOUT_MS)
    summary = window.ai.summary
    assert summary.findings == [] and not summary.runs
    assert "this plain image does not say (declare it a radiograph or an MR slice first)" \
        in window.status_label.text()
    declare(window, "DX")
    window.ai.declare_plain_image(None)  # taking the declaration back works too
    assert window.ai.kind_actions[None].isChecked()
