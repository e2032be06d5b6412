"""The AI in the reading workflow, beside the main window.

`AIReading` (a QObject living in the GUI thread) holds the feedback database, the 2D overlay
(`AIOverlay` on every slice view), the findings panel with the overlay controls under a "Not for
diagnostic use" header (the "Findings" dock), the agreement monitor (a dock tabbed with it), the
missed-finding picker and the 3D finding actors. It offers:

* :meth:`analyze` - every applicable model on the open, completely loaded series, in a worker
  thread; progress and status lines go out as signals; :meth:`cancel` stops it. When
  it ends the runs are stored, the overlay / panel / 3D view / triage / agreement are refreshed,
  and the status line says which models ran on which provider and for how long, and which did not
  apply and why (``AnalysisSummary.status_text``).
* The overlays draw the findings that the panel's filters (model, score, "above operating
  point only" - on by default) let through.
* :meth:`show_finding` - a finding clicked in the panel: every view jumps to it and centres it,
  it is highlighted in the overlay (its own heat map) and in the 3D view.
* On a change of series: the findings stored for it (with their verdicts) are shown again, and
  the missed findings the reader added (`MissedLayer`: magenta crosses).

It is given what it works on - the view model, the view grid, the study browser (triage column)
and the main window its docks go into - and never reaches into the window otherwise: the window
tells it which series is being opened (:meth:`open_series`) and listens to its signals:

* ``status(str)`` - a line for the status bar;
* ``analysed(str)`` - the line after an analysis ended (status bar text and tooltip);
* ``progress(int)`` - percent done of the running analysis;
* ``busy(bool)`` - an analysis started (progress bar shown, Analyze off, Cancel on) or ended;
* ``thread_started(QThread, worker)`` - keep the analysis thread and its worker until it ends.

Worker signals go to methods of this object, so they arrive queued in the GUI thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QVBoxLayout, QWidget

from ai.findings import Finding
from ai.registry import UNKNOWN_MODALITY
from viewer.core.feedback_db import Analysis, FeedbackDB, FeedbackDBError
from viewer.core.raster_image import DECLARABLE_KINDS, declare_modality
from viewer.core.volume import Volume
from viewer.dicom_out.sr_listing import findings_for_volume
from viewer.ui.ai_worker import AnalysisSummary, AnalysisWorker, record_summary
from viewer.ui.finding_jump import MissedFindingPicker, jump_to_finding
from viewer.ui.findings_panel import FindingsPanel, stored_findings
from viewer.ui.heatmap_overlay import AIOverlay
from viewer.ui.missed_layer import MissedLayer
from viewer.ui.overlay_controls import OverlayControls
from viewer.ui.triage_columns import refresh_triage, sort_by_triage
from viewer.ui.workers import start_worker

if TYPE_CHECKING:
    import numpy as np

    from viewer.core.view_state import ViewerModel
    from viewer.ui.agreement_plot import AgreementPlot
    from viewer.ui.study_browser import StudyBrowser
    from viewer.ui.view_grid import ViewGrid

DISCLAIMER_TEXT = ("NOT FOR DIAGNOSTIC USE — AI findings are a research second opinion, "
                   "not a medical device.")
# white on dark red: 10:1 contrast whatever the palette (WCAG asks ≥ 4.5:1)
FINDINGS_DOCK_SHARE = 0.3  # of the window's height, when the findings dock opens
_DISCLAIMER_STYLE = "color: #ffffff; background-color: #8b0000; font-weight: bold; padding: 3px 6px;"


def open_feedback_db() -> tuple[FeedbackDB, str]:
    """The feedback database in the data folder; if it cannot be opened (written by a newer
    RadSight, unreadable folder), an in-memory one and the reason (verdicts are then not kept)."""
    try:
        return FeedbackDB(), ""
    except (FeedbackDBError, sqlite3.Error, OSError) as exc:
        return FeedbackDB(":memory:"), f"Feedback database not available ({exc}): verdicts will not be kept"


def _device(provider: str) -> str:
    return "CUDA" if "CUDA" in provider else "CPU" if "CPU" in provider else provider or "?"


def stored_text(analyses: list[Analysis]) -> str:
    """What the stored findings of a series come from (model, version, when, where)."""
    runs = [f"{a.model} {a.model_version} on {_device(a.provider)}, {a.analysed_at:%Y-%m-%d %H:%M} UTC"
            for a in analyses]
    return "Stored findings (heat maps are not stored; Analyze again to see them): " + "; ".join(runs)


PLAIN_IMAGE_HINT = ("Not analysed: this plain image does not say (declare it a radiograph or an MR slice "
                    "first) in AI › Plain image shows")


def analysis_text(summary: AnalysisSummary, undeclared_plain_image: bool) -> str:
    """The status line after Analyze; for a plain image nobody declared, one plain hint where to
    declare it (not "0 finding(s)", which could be read as a negative, nor one reason per model)."""
    if undeclared_plain_image and not (summary.runs or summary.failed or summary.cancelled):
        return PLAIN_IMAGE_HINT
    return summary.status_text()


def disclaimer_label() -> QLabel:
    label = QLabel(DISCLAIMER_TEXT)
    label.setStyleSheet(_DISCLAIMER_STYLE)
    label.setWordWrap(True)
    return label


def _stacked(*children: QWidget) -> QWidget:
    """The children one above the other; the last one takes the spare height."""
    widget = QWidget()
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    for child in children:
        layout.addWidget(child)
    layout.setStretch(len(children) - 1, 1)
    return widget


class AIReading(QObject):
    """See the module docstring. ``host`` is the main window: the parent, and where the docks go."""

    status = Signal(str)
    analysed = Signal(str)
    progress = Signal(int)
    busy = Signal(bool)
    thread_started = Signal(object, object)  # (QThread, AnalysisWorker)

    def __init__(self, model: ViewerModel, grid: ViewGrid, browser: StudyBrowser, host: QMainWindow,
                 db: FeedbackDB | None = None) -> None:
        super().__init__(host)
        self.model, self.grid, self.browser, self.host = model, grid, browser, host
        self.db, self.db_problem = (db, "") if db is not None else open_feedback_db()
        self.overlay = AIOverlay(self)
        self.overlay.attach(grid)
        self.panel = FindingsPanel(self.db)
        self.controls = OverlayControls(self.overlay)
        self._plot: AgreementPlot | None = None  # pyqtgraph: made when its dock first shows
        self.picker = MissedFindingPicker(self.panel, grid.views.values())
        self.missed = MissedLayer(self.db)
        grid.add_layer(self.missed.paint_view)
        self.actors = None  # FindingActors, made when the 3D view first shows a volume
        self.worker: AnalysisWorker | None = None
        self._thread: QThread | None = None
        self._closed = False
        self.summary: AnalysisSummary | None = None
        self._analysed: Volume | None = None
        self._series_uid: str | None = None
        self._body_part: str | None = None  # Body Part Examined of the series being opened
        self._beside: list[Path] = []  # files beside it that the index passed over (RadSight SR?)
        self.plain_image_kind: str | None = None  # what the reader declared a plain image to show
        self.kind_actions: dict[str | None, QAction] = {}
        self._connect()

    def open_series(self, body_part: str | None, beside: Sequence[Path]) -> None:
        """The window opens a series: its Body Part Examined (for the models' scope) and the files
        beside it that the index passed over (findings of a RadSight DICOM SR among them are shown)."""
        self._body_part, self._beside = body_part or None, list(beside)

    # --- plain images: the reader says what they show -----------------------------------------
    def build_plain_image_menu(self, menu: QMenu) -> None:
        """"Plain image shows" choices: a PNG/JPEG does not say whether it is a radiograph or an
        MR slice, so no model runs on it until the reader declares it (reset for every image)."""
        group = QActionGroup(menu)
        declared = {m: f"{w.capitalize()} ({m})" for m, w in DECLARABLE_KINDS.items()}
        choices = {None: "Not declared", **declared}
        for kind, text in choices.items():
            action = QAction(text, menu, checkable=True)
            action.triggered.connect(lambda _=False, k=kind: self.declare_plain_image(k))
            group.addAction(action)
            menu.addAction(action)
            self.kind_actions[kind] = action
        self.kind_actions[None].setChecked(True)

    def declare_plain_image(self, kind: str | None) -> None:
        """Remember what the plain image shows (None: not declared); the corner text shows it."""
        self.plain_image_kind = kind
        if kind in self.kind_actions:
            self.kind_actions[kind].setChecked(True)
        model = self.model
        if model.volume is not None and model.volume.modality == UNKNOWN_MODALITY:
            model.info["modality"] = f"{kind} (declared)" if kind else ""
            self.grid.update_views()

    def _declared(self, volume: Volume) -> Volume:
        if volume.modality == UNKNOWN_MODALITY and self.plain_image_kind:
            return declare_modality(volume, self.plain_image_kind)
        return volume

    def _connect(self) -> None:
        self.panel.only_passing.setChecked(True)  # the model's marks first; the filter shows the rest
        self.panel.model_filter.currentTextChanged.connect(self._filter_changed)
        self.panel.threshold.valueChanged.connect(self._filter_changed)
        self.panel.only_passing.toggled.connect(self._filter_changed)
        self.panel.finding_activated.connect(self.show_finding)
        self.panel.feedback_given.connect(self._on_feedback)
        self.panel.missed_added.connect(self._on_missed)
        self.model.volume_changed.connect(self._on_volume_changed)
        self.grid.view_3d_ready.connect(self._sync_3d)

    # --- docks ------------------------------------------------------------------------------
    def findings_widget(self) -> QWidget:
        """The "Findings" dock's content: disclaimer header, overlay controls, findings panel."""
        self.disclaimer = disclaimer_label()
        self.run_label = QLabel(self.db_problem or "No analysis of this series yet (Analyze: Ctrl+A)")
        self.run_label.setWordWrap(True)
        return _stacked(self.disclaimer, self.run_label, self.controls, self.panel)

    def add_docks(self, area: Qt.DockWidgetArea = Qt.DockWidgetArea.BottomDockWidgetArea) -> None:
        """"Findings" and "AI agreement" docks, tabbed; hidden until the AI is used on a series
        (Analyze, or findings stored for it) or the reader opens them from the AI menu."""
        docks = []
        self._agreement = agreement = _stacked(disclaimer_label())
        for title, widget in (("Findings", self.findings_widget()), ("AI agreement", agreement)):
            dock = QDockWidget(title, self.host)
            dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
            dock.setWidget(widget)
            self.host.addDockWidget(area, dock)
            docks.append(dock)
        self.host.tabifyDockWidget(docks[0], docks[1])
        self.findings_dock, self.agreement_dock = docks
        self.agreement_dock.visibilityChanged.connect(self._on_agreement_visible)
        for dock in docks:
            dock.hide()

    def _on_agreement_visible(self, visible: bool) -> None:
        if visible:
            _ = self.plot

    @property
    def plot(self) -> AgreementPlot:
        """The agreement monitor (made on first use: pyqtgraph is not needed at start-up)."""
        if self._plot is None:
            from viewer.ui.agreement_plot import AgreementPlot

            self._plot = AgreementPlot(self.db)
            layout = self._agreement.layout()
            layout.addWidget(self._plot)
            layout.setStretch(0, 0)
            layout.setStretch(1, 1)
        return self._plot

    def _refresh_plot(self) -> None:
        if self._plot is not None:  # (else it reads the database when it is made)
            self._plot.refresh()

    def show_docks(self) -> None:
        """Show the findings dock (in front of the agreement monitor)."""
        _ = self.plot
        if self.findings_dock.isHidden():
            self.findings_dock.show()
            self.agreement_dock.show()
            height = min(330, int(FINDINGS_DOCK_SHARE * self.host.height()))  # the image keeps the room
            self.host.resizeDocks([self.findings_dock], [height], Qt.Orientation.Vertical)
        self.findings_dock.raise_()

    # --- analyze ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def thread(self) -> QThread | None:
        """The thread of the latest analysis (it may have ended)."""
        return self._thread

    def analyze(self) -> bool:
        """Start Analyze on the open series; False (with the reason shown) when it cannot."""
        volume = self.model.volume
        reason = ("Open a series first" if volume is None
                  else "Wait until the series has loaded completely" if not self.model.complete
                  else "Analysis is already running" if self.running else "")
        if reason:
            self.status.emit(reason)
            return False
        self.worker = AnalysisWorker(self._declared(volume), self._body_part)
        self._analysed = volume
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_analysed)
        self.worker.failed.connect(self._on_failed)
        self._thread = start_worker(self.worker, self.host)
        self.thread_started.emit(self._thread, self.worker)
        self.busy.emit(True)
        self.status.emit("Analysis starting…")
        self.show_docks()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.status.emit("Cancelling the analysis…")

    def _on_progress(self, percent: int, message: str) -> None:
        if self.worker is None or self.sender() is not self.worker:
            return
        self.progress.emit(percent)
        self.status.emit(message + "…" if percent < 100 else message)

    def _finish(self) -> Volume | None:
        volume, self.worker, self._analysed = self._analysed, None, None
        self.busy.emit(False)
        return volume

    def _on_failed(self, message: str) -> None:
        if self._finish() is None or self._closed:
            return
        self.status.emit(message)

    def _on_analysed(self, summary: AnalysisSummary) -> None:
        volume = self._finish()
        if volume is None or self._closed:
            return
        self.summary = summary
        record_summary(self.db, summary, volume)
        text = analysis_text(summary, volume.modality == UNKNOWN_MODALITY and not self.plain_image_kind)
        if volume.series_instance_uid == self._series_uid:  # still the series on screen
            if summary.runs:  # (a cancel before any model finished keeps what was shown)
                self.panel.set_rules({k: v for run in summary.runs for k, v in run.mark_rules.items()})
                self.show_results(summary.findings, summary.maps, volume)
            self.run_label.setText(text)
        self.analysed.emit(text)
        self.refresh_triage()
        self._refresh_plot()

    def show_results(self, findings: list[Finding], maps: dict[str, np.ndarray], volume: Volume) -> None:
        """Findings (and their maps, on the volume grid) in the overlay, the panel and 3D."""
        self.panel.set_findings(findings, volume.shape[0])
        self.overlay.set_results(findings, maps)
        self.overlay.set_findings(self.panel.visible_findings())
        if findings:
            self.show_docks()
        self._sync_3d()

    def _filter_changed(self, *_: object) -> None:
        """The overlays (2D and 3D) show what the findings panel's filters let through."""
        self.overlay.set_findings(self.panel.visible_findings())
        self._sync_3d()

    # --- findings ---------------------------------------------------------------------------
    def show_finding(self, finding: Finding) -> None:
        """Jump every view to the finding, centre it, highlight it (its own map) in 2D and 3D."""
        jump_to_finding(self.model, self.grid.views.values(), finding, zoom=True)
        self.overlay.select_finding(finding)
        if self.actors is not None:
            self.actors.select(finding.id)
            self._render_3d()

    def _on_missed(self, *_: object) -> None:
        self.missed.set_series(self._series_uid)
        self.grid.update_views()
        self._on_feedback()

    def _on_feedback(self, *_: object) -> None:
        self._refresh_plot()
        self.refresh_triage()

    def _on_volume_changed(self) -> None:
        """A new series: show what is stored for it (findings and verdicts survive restarts)."""
        volume = self.model.volume
        uid = volume.series_instance_uid if volume is not None else None
        if volume is None or uid == self._series_uid:
            return
        self._series_uid = uid
        self.declare_plain_image(None)  # a declaration is for one image only
        self.summary = None
        self.missed.set_series(uid)
        findings = stored_findings(self.db, uid) if uid else []
        self.run_label.setText(stored_text(self.db.latest_analyses(uid)) if findings else
                               self.db_problem or "No analysis of this series yet (Analyze: Ctrl+A)")
        if not findings and (findings := self._findings_from_dicom_sr(volume)):
            self.run_label.setText(f"{len(findings)} finding(s) from a RadSight DICOM SR beside the series "
                                   "(not for diagnostic use)")
        self.show_results(findings, {}, volume)

    def _findings_from_dicom_sr(self, volume: Volume) -> list[Finding]:
        """Findings of RadSight SR files found beside the series (the index passed them over)."""
        return findings_for_volume(self._beside, volume)

    # --- triage -----------------------------------------------------------------------------
    def refresh_triage(self) -> None:
        refresh_triage(self.browser, self.db)

    def sort_by_ai(self) -> None:
        sort_by_triage(self.browser, refresh_triage(self.browser, self.db))

    # --- 3D ---------------------------------------------------------------------------------
    def _scene(self) -> object | None:
        """The 3D view's scene when it shows the open volume."""
        view = self.grid.view_3d
        scene = getattr(view, "scene", None)
        volume = self.model.volume
        if scene is None or volume is None or scene.volume is None or scene.volume.shape != volume.shape:
            return None
        return scene

    def _sync_3d(self, *_: object) -> None:
        """Boxes and centre markers of the shown findings in the 3D view (when it has the volume)."""
        scene = self._scene()
        if scene is None:
            return
        if self.actors is None:
            from viewer.ui.finding_actors import FindingActors  # VTK: only once a 3D view exists

            self.actors = FindingActors()
        if self.actors.renderer is not scene.markers:
            self.actors.attach(scene.markers)  # the layer above the volume: never hidden by bone
        self.actors.set_findings(self.model.volume, self.overlay.findings)
        self.actors.select(self.overlay.selected_id)
        self._render_3d()

    def _render_3d(self) -> None:
        view = self.grid.view_3d
        if self._scene() is not None and view.isVisible():
            view.scene.render()

    # --- shutdown ---------------------------------------------------------------------------
    def shutdown(self, wait_ms: int = 10_000) -> None:
        """Cancel a running analysis, wait for its thread, close the database."""
        self._closed = True
        if self.worker is not None:
            self.worker.cancel()
        if self._thread is not None and self._thread.isRunning():
            self._thread.wait(wait_ms)
        self.db.close()
