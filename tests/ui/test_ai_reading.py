"""The AI reading flow on real images: LIDC-0314 (CT) and a FracAtlas radiograph.

Always: a finding at the readers' annotated nodule (with a heat map on the volume grid) is listed
in the findings panel; clicking it moves the axial and coronal views to the nodule and centres
it; the heat map is drawn over the nodule and nowhere far from it; opacity 0 hides it.
With the shipped models installed (resources/models/nodule-ct, fracture-radiograph): the same
with what Analyze really finds (skipped, with the reason, until they are installed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ai.findings import Finding
from ai.region_map import full_map
from ai.registry import ModelRegistry, builtin_models_dir
from viewer.core.feedback_db import FeedbackDB
from viewer.core.raster_image import declare_modality
from viewer.core.series_loader import load_series
from viewer.core.view_state import ViewerModel, ViewKind
from viewer.core.volume import Volume
from viewer.ui.ai_worker import AnalysisWorker, record_summary
from viewer.ui.finding_jump import jump_to_finding
from viewer.ui.findings_panel import FindingsPanel
from viewer.ui.heatmap_overlay import AIOverlay
from viewer.ui.slice_view import SliceView

from .viewer_helpers import nodule_contours, save, to_array, view_point

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def lidc(lidc_dir: Path) -> Volume:
    return load_series(lidc_dir).volume


def annotated_nodule(volume: Volume, annotations: Path) -> tuple[tuple[float, float, float], np.ndarray]:
    """Centre ``[k, j, i]`` of the readers' largest nodule contour, and its (col, row) points."""
    contours = nodule_contours(annotations)
    z = max(contours, key=lambda zz: max(np.ptp(c[:, 0]) for c in contours[zz]))
    points = np.concatenate(contours[z])
    zs = np.array([volume.slice_position(k)[2] for k in range(volume.shape[0])])
    k = int(np.argmin(np.abs(zs - z)))
    return (float(k), float(points[:, 1].mean()), float(points[:, 0].mean())), points


def gaussian_map(shape: tuple[int, int, int], centre: tuple[float, float, float], sigma: float) -> np.ndarray:
    """A heat map on the volume grid: a Gaussian blob (float16 to keep 275 × 512² small)."""
    heat = np.zeros(shape, np.float16)
    lo = [max(0, int(c - 3 * sigma)) for c in centre]
    hi = [min(n, int(c + 3 * sigma) + 1) for c, n in zip(centre, shape, strict=True)]
    grids = np.meshgrid(*(np.arange(a, b) for a, b in zip(lo, hi, strict=True)), indexing="ij")
    d2 = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True))
    heat[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = np.exp(-d2 / (2 * sigma**2))
    return heat


def reading_views(qtbot, volume: Volume, overlay: AIOverlay) -> tuple[ViewerModel, list[SliceView]]:  # noqa: ANN001
    model = ViewerModel()
    model.set_volume(volume)
    if volume.modality == "CT":
        model.apply_named_preset("lung")
    views = []
    for kind in (ViewKind.AXIAL, ViewKind.CORONAL) if not volume.is_2d else (ViewKind.AXIAL,):
        view = SliceView(model, kind)
        qtbot.addWidget(view)
        view.resize(512, 512)
        view.add_layer(overlay.paint_view)
        overlay.changed.connect(view.update)
        views.append(view)
    return model, views


def heat_changes(view: SliceView, overlay: AIOverlay) -> np.ndarray:
    """Per screen pixel: how much the heat layer changed it (sum over RGB)."""
    shown = overlay.heat_visible
    overlay.set_heat_visible(False)
    base = to_array(view.render_image()).astype(int)
    overlay.set_heat_visible(shown)
    return np.abs(to_array(view.render_image()).astype(int) - base).sum(axis=2)


def click_first_row(panel: FindingsPanel) -> None:
    rect = panel.table.visualItemRect(panel.table.item(0, 0))
    QTest.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_nodule_finding_overlay_on_lidc(qtbot, lidc: Volume, lidc_dir: Path, tmp_path: Path,  # noqa: ANN001
                                        output_dir: Path) -> None:
    centre, points = annotated_nodule(lidc, lidc_dir.parent / "annotations")
    k, j, i = centre
    (j0, i0), (j1, i1) = points[:, ::-1].min(axis=0), points[:, ::-1].max(axis=0) + 1
    finding = Finding("nodule-ct", "test", "nodule", 0.9, True, threshold=0.5, center_kji=centre,
                      center_mm=tuple(lidc.index_to_patient(centre)), box_kji=(k - 8, j0, i0, k + 9, j1, i1),
                      explanation="nodule-ct/nodule")
    overlay = AIOverlay()
    overlay.set_results([finding], {"nodule-ct/nodule": gaussian_map(lidc.shape, centre, sigma=8.0)})
    model, views = reading_views(qtbot, lidc, overlay)
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        db.record_analysis(lidc.study_instance_uid, lidc.series_instance_uid, "nodule-ct", "test",
                           [finding.to_dict()], sop_instance_uids=lidc.sop_instance_uids)
        panel = FindingsPanel(db)
        qtbot.addWidget(panel)
        panel.resize(700, 300)
        panel.show()
        panel.set_findings([finding], n_slices=lidc.shape[0])
        panel.finding_activated.connect(lambda f: jump_to_finding(model, views, f))
        panel.finding_activated.connect(overlay.select_finding)
        click_first_row(panel)
    assert list(model.cursor) == [round(k), round(j), round(i)]
    for view in views:
        row, col, _ = view.geometry.from_index(centre)
        point = view_point(view, row, col)
        assert abs(point.x() - 256) <= 2 and abs(point.y() - 256) <= 2  # centred in the view
        changed = heat_changes(view, overlay)
        yy, xx = np.mgrid[0:512, 0:512]
        dist = np.hypot(xx - point.x(), yy - point.y())
        scale = view.transform().sx  # screen pixels per plane pixel (square pixels here)
        assert changed[dist < 4 * scale].mean() > 60  # heat over the nodule ...
        bar = xx >= 512 - 40  # (the colour bar at the right edge)
        assert not changed[(dist > 40 * scale) & ~bar].any()  # ... and none far away
        assert changed[bar].any()
        save(view.render_image(), output_dir, f"ai_lidc_nodule_{view.state.kind}.png")
    overlay.set_opacity(0.0)
    assert not heat_changes(views[0], overlay).any()
    save(views[0].render_image(), output_dir, "ai_lidc_nodule_opacity0.png")


def _installed(name: str) -> ModelRegistry:
    if not (builtin_models_dir() / name / "model.json").is_file():
        pytest.skip(f"shipped model {name} not installed yet (resources/models/{name}/model.json)")
    return ModelRegistry()


def test_analyze_lidc_with_the_shipped_nodule_model(qtbot, lidc: Volume, lidc_dir: Path,  # noqa: ANN001
                                                    tmp_path: Path, output_dir: Path) -> None:
    registry = _installed("nodule-ct")
    summary = AnalysisWorker(lidc, body_part="CHEST", registry=registry).analyse()
    assert "nodule-ct" in [run.name for run in summary.runs], summary.status_text()
    centre, _ = annotated_nodule(lidc, lidc_dir.parent / "annotations")
    nodule_mm = lidc.index_to_patient(centre)
    hits = [f for f in summary.findings if f.model == "nodule-ct" and f.center_mm is not None
            and np.linalg.norm(np.subtract(f.center_mm, nodule_mm)) < 15.0]
    assert hits, f"no nodule-ct finding within 15 mm of the annotated nodule: {summary.status_text()}"
    top = summary.findings[0]
    assert hits[0].id == top.id  # the top finding is the readers' nodule
    assert top.explanation_peak_mm is not None  # its own map peaks at the nodule (readers' radius ~10 mm
    # + one 4 mm CAM cell), not at some other candidate as the old whole-scan block map did
    assert np.linalg.norm(np.subtract(top.explanation_peak_mm, nodule_mm)) < 15.0, top.explanation_peak_mm
    own = full_map(summary.maps[top.explanation])
    k, j, i = (round(v) for v in centre)
    assert own[k, j, i] > 0.2 and own.max() == 1.0  # its own map covers the nodule (coarse 4 mm cells)
    assert np.count_nonzero(own) < own.size // 500  # and that finding's patch only, not the whole scan
    overlay = AIOverlay()
    overlay.set_results(summary.findings, summary.maps)
    model, views = reading_views(qtbot, lidc, overlay)
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        record_summary(db, summary, lidc)
        panel = FindingsPanel(db)
        qtbot.addWidget(panel)
        panel.set_findings(summary.findings, n_slices=lidc.shape[0])
        assert panel.table.rowCount() == len(summary.findings)
    jump_to_finding(model, views, hits[0])
    overlay.select_finding(hits[0])
    assert views[0].slice_index == round(hits[0].center_kji[0])
    assert overlay.map_key == hits[0].explanation  # the selected finding's own map is shown
    changed = heat_changes(views[0], overlay)
    assert changed[236:277, 236:277].mean() > changed.mean()  # more heat at the nodule
    save(views[0].render_image(), output_dir, "ai_lidc_top_finding_own_map.png")
    views[0].state.zoom_by(4.0)  # the same, close up: the finding's own map over the nodule
    jump_to_finding(model, views, hits[0])  # centred again at the new zoom
    save(views[0].render_image(), output_dir, "ai_lidc_top_finding_own_map_zoom.png")


def test_analyze_fracatlas_with_the_shipped_fracture_model(qtbot, shared_data: Path,  # noqa: ANN001
                                                           output_dir: Path) -> None:
    registry = _installed("fracture-radiograph")
    folder = shared_data / "labelled" / "fracatlas" / "images" / "Fractured"
    image = sorted(folder.glob("*.jpg"))[0]
    volume = declare_modality(load_series(image).volume, "DX")  # the reader: "a radiograph"
    summary = AnalysisWorker(volume, registry=registry).analyse()
    assert "fracture-radiograph" in [run.name for run in summary.runs], summary.status_text()
    overlay = AIOverlay()
    overlay.set_results(summary.findings, summary.maps)
    model, [view] = reading_views(qtbot, volume, overlay)
    for finding in summary.findings:
        assert jump_to_finding(model, [view], finding) or finding.center_kji is None
    assert summary.findings  # the detector's candidate boxes (up to 5), best first
    finding = max(summary.findings, key=lambda f: f.score)
    overlay.select_finding(finding)
    assert overlay.map_key == finding.explanation and finding.explanation_peak_kji is not None
    k, j, i = finding.explanation_peak_kji  # a plain image: the peak's "mm" is its pixel position
    assert finding.explanation_peak_mm == (i, j, k) and finding.center_mm is None
    if summary.maps:
        assert heat_changes(view, overlay).any()
        overlay.set_opacity(0.0)
        assert not heat_changes(view, overlay).any()
        overlay.set_opacity(0.5)
    save(view.render_image(), output_dir, "ai_fracatlas_fracture_own_map.png")


def test_analyze_brain_mri_with_the_shipped_tumour_model(qtbot, shared_data: Path,  # noqa: ANN001
                                                         output_dir: Path) -> None:
    registry = _installed("tumour-mri")
    image = shared_data / "labelled" / "brain-tumor-mri" / "glioma" / "1841.jpg"
    if not image.is_file():
        pytest.skip(f"{image} not found")
    volume = declare_modality(load_series(image).volume, "MR")  # the reader: "an MR slice"
    summary = AnalysisWorker(volume, registry=registry).analyse()
    assert "tumour-mri" in [run.name for run in summary.runs], summary.status_text()
    assert "nodule-ct" not in [run.name for run in summary.runs]
    overlay = AIOverlay()
    overlay.set_results(summary.findings, summary.maps)
    model, [view] = reading_views(qtbot, volume, overlay)
    panel = FindingsPanel()
    qtbot.addWidget(panel)
    panel.set_findings(summary.findings, n_slices=1)
    panel.finding_activated.connect(lambda f: jump_to_finding(model, [view], f))
    panel.finding_activated.connect(overlay.select_finding)
    click_first_row(panel)
    assert overlay.selected_id == summary.findings[0].id
    if summary.maps:
        assert heat_changes(view, overlay).any()
        overlay.set_opacity(0.0)
        assert not heat_changes(view, overlay).any()
        overlay.set_opacity(0.5)
    save(view.render_image(), output_dir, "ai_brain_mri_tumour.png")
