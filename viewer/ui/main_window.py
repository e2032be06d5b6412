"""RadSight's main window: study browser, MPR views, tools, measurements, loading, About."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Qt, QThread, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QToolBar,
    QWidget,
)

from viewer.core.dicom_index import DicomIndex, SeriesRecord
from viewer.core.feedback_db import FeedbackDB
from viewer.core.series_loader import LoadResult
from viewer.core.view_state import Tool, ViewerModel, presets_for
from viewer.core.volume import Volume
from viewer.ui.ai_reading import AIReading
from viewer.ui.cine_speed import install_cine_speed
from viewer.ui.corner_info import series_info
from viewer.ui.gui_thread_gc import collect_garbage_in_gui_thread
from viewer.ui.hanging_protocol_apply import install_hanging_protocols
from viewer.ui.help_dialogs import about_markdown, add_help_menu
from viewer.ui.measurement_panel import MeasurementPanel
from viewer.ui.node_menu import install_clinic
from viewer.ui.reading_report import ReadingReport
from viewer.ui.scale_bar import paint_scale_bar
from viewer.ui.screenshot import Screenshots
from viewer.ui.series_thumbnails import SeriesThumbnails
from viewer.ui.slice_view import BUTTON_ACTIONS, DEFAULT_BUTTON_ACTIONS
from viewer.ui.study_browser import StudyBrowser, series_title
from viewer.ui.view_filter_menu import ViewFilters
from viewer.ui.view_grid import LAYOUTS, ViewGrid
from viewer.ui.workers import IndexWorker, LoadWorker, start_worker

if TYPE_CHECKING:
    from viewer.ui.agreement_plot import AgreementPlot

TITLE = "RadSight — Not for diagnostic use"
MAX_RECENT = 10
WIDE_WINDOW_PX = 1600  # from this window width the Studies dock is WIDE_STUDIES_PX wide
WIDE_STUDIES_PX = 360
_TOOL_LABELS = {Tool.WINDOW: "W/L", Tool.CROSSHAIR: "Crosshair", Tool.DISTANCE: "Distance",
                Tool.ANGLE: "Angle", Tool.ELLIPSE: "Ellipse ROI", Tool.RECTANGLE: "Rectangle ROI"}
_SLAB_MODES = {"Single slice": None, "MIP": "mip", "MinIP": "minip", "Average": "mean"}


class _Orphans(QObject):
    """Worker threads still running when their window went, each kept with its worker until it
    ends, so that neither is destroyed while running (Qt aborts the process then). Lives in the
    GUI thread: the release runs there, after the thread is joined."""

    def __init__(self) -> None:
        super().__init__()
        self.running: dict[QThread, object] = {}

    def keep(self, thread: QThread, worker: object) -> None:
        thread.setParent(None)
        self.running[thread] = worker
        thread.finished.connect(self._ended)  # queued: a slot of this GUI-thread object

    def _ended(self) -> None:
        thread = self.sender()
        thread.wait()
        self.running.pop(thread, None)


_ORPHANS: list[_Orphans] = []


def _keep_until_finished(thread: QThread, worker: object) -> None:
    if not _ORPHANS:
        _ORPHANS.append(_Orphans())
    _ORPHANS[0].keep(thread, worker)


class MainWindow(QMainWindow):
    """The reading workstation window. ``settings`` may be given (tests use a private file);
    ``feedback_db`` too (default: the AI feedback database in the data folder, see
    `viewer.core.feedback_db`; the window closes it when it closes)."""

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None,
                 feedback_db: FeedbackDB | None = None) -> None:
        super().__init__(parent)
        collect_garbage_in_gui_thread()
        self.settings = settings or QSettings()
        self.model = ViewerModel()
        self.grid = ViewGrid(self.model, self)
        self.browser = StudyBrowser(self)
        self.measurement_panel = MeasurementPanel(self.model, self)
        self.series: SeriesRecord | None = None
        self.index: DicomIndex | None = None
        self.result: LoadResult | None = None
        self.last_error = ""
        self._threads: dict[QThread, object] = {}
        self._load_worker: LoadWorker | None = None
        self._presets: list = []
        self.ai = AIReading(self.model, self.grid, self.browser, self, feedback_db)
        self.feedback_db, self.ai_overlay = self.ai.db, self.ai.overlay
        self.findings_panel = self.ai.panel
        self.reading = ReadingReport(self)  # key images, File › Report…
        self.grid.add_layer(paint_scale_bar)
        self.screenshots = Screenshots(self)
        self.setWindowTitle(TITLE)
        self.setCentralWidget(self.grid)
        self.setAcceptDrops(True)
        self.resize(1280, 900)
        self._build_docks()
        self._build_status_bar()
        self._build_actions()
        self._connect()
        self.clinic = install_clinic(self)  # study database, DICOM node, Query/Retrieve, Send to…
        self.hanging = install_hanging_protocols(self)  # layout, window, slab per modality/body part
        self.thumbnails = SeriesThumbnails(self, self.browser, self.track_thread)  # middle image per series
        if self.ai.db_problem:
            self.status_label.setText(self.ai.db_problem)

    # --- construction ---------------------------------------------------------------------
    def _build_docks(self) -> None:
        for title, widget, area in (("Studies", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Measurements", self.measurement_panel,
                                     Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{title.lower()}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
        self._studies_widened = False
        self.reading.add_dock()
        self.ai.add_docks()
        QTimer.singleShot(0, self._add_optional_docks)  # plots load after the first paint

    def _add_optional_docks(self) -> None:
        """Histogram and profile plots (pyqtgraph), tabbed under the measurements."""
        from viewer.ui.side_panels import optional_panels

        self.plots, self.tags = optional_panels(self.model, self.grid, lambda: self.result, self)
        panels = (("Histogram", self.plots.histogram), ("Profile", self.plots.profile),
                  ("Tags", self.tags.browser))
        first = None
        for title, widget in panels:
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{title.lower()}")
            dock.setWidget(widget)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            if first is None:
                first = dock
            else:
                self.tabifyDockWidget(first, dock)
        if first is not None:
            first.raise_()
            self.resizeDocks([first], [280], Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        self.status_label = QLabel("Ready", self)
        self.status_label.setWordWrap(True)  # a long message takes a second line, never cut mid-word
        self.hover_label = QLabel("", self)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        bar = self.statusBar()
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.hover_label)
        bar.addPermanentWidget(self.progress)

    def _action(self, text: str, slot: object, shortcut: str | None = None,
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self._action("&Open folder…", self.choose_folder, "Ctrl+O"))
        file_menu.addAction(self._action("Open &file…", self.choose_file, "Ctrl+Shift+O"))
        self.recent_menu = file_menu.addMenu("&Recent studies")
        file_menu.addSeparator()
        self.reading.add_to_menu(file_menu)
        self.screenshots.add_to_menu(file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, "Ctrl+Q"))
        self._refresh_recent_menu()
        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("toolbar-main")
        self.addToolBar(toolbar)
        self._build_layout_actions(menu.addMenu("&View"), toolbar)
        self._build_tool_actions(menu.addMenu("&Tools"), toolbar)
        self._build_display_controls(toolbar)
        self._build_ai_actions(menu.addMenu("&AI"), toolbar)
        add_help_menu(self, menu.addMenu("&Help"))

    def _build_layout_actions(self, view_menu: object, toolbar: QToolBar) -> None:
        group = QActionGroup(self)
        self.layout_actions: dict[str, QAction] = {}
        for name in LAYOUTS:
            label = f"Layout {name.replace('x', '×')}"
            action = self._action(label, lambda _=False, n=name: self.set_layout(n), checkable=True)
            group.addAction(action)
            view_menu.addAction(action)
            toolbar.addAction(action)
            self.layout_actions[name] = action
        self.layout_actions["1x1"].setChecked(True)
        view_menu.addSeparator()
        self.crosshair_action = self._action("Reference lines", self.model.set_show_crosshair, checkable=True)
        view_menu.addAction(self.crosshair_action)
        view_menu.addAction(self._action("Reset view", lambda: self.grid.current.reset()))
        view_menu.addAction(self._action("Invert", lambda: self.model.set_invert(not self.model.invert)))
        view_menu.addAction(self._action("Cine", lambda: self.grid.current.toggle_cine()))
        self.cine_speed_actions = install_cine_speed(view_menu, self.grid.views.values(), self.settings)
        self.view_filters = ViewFilters(self.grid.views.values(), view_menu)

    def _build_tool_actions(self, tools_menu: object, toolbar: QToolBar) -> None:
        toolbar.addSeparator()
        group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool, label in _TOOL_LABELS.items():
            action = self._action(label, lambda _=False, t=tool: self.model.set_tool(t), checkable=True)
            group.addAction(action)
            tools_menu.addAction(action)
            toolbar.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions[Tool.WINDOW].setChecked(True)

    def _build_display_controls(self, toolbar: QToolBar) -> None:
        toolbar.addSeparator()
        self.preset_box = QComboBox(self)
        self.preset_box.setToolTip("Window preset (number keys 1–9)")
        self.preset_box.setMinimumContentsLength(22)
        self.preset_box.setPlaceholderText("custom window")
        self.preset_box.activated.connect(lambda n: self.model.apply_preset(n + 1))
        toolbar.addWidget(self.preset_box)
        self.slab_box = QComboBox(self)
        self.slab_box.addItems(list(_SLAB_MODES))
        self.slab_box.currentTextChanged.connect(self._slab_changed)
        self.slab_mm = QDoubleSpinBox(self)
        self.slab_mm.setRange(1, 100)
        self.slab_mm.setValue(self.model.slab_mm)
        self.slab_mm.setSuffix(" mm")
        self.slab_mm.setToolTip("Slab thickness (MIP, MinIP, Average)")
        self.slab_mm.setEnabled(False)  # single slice: no slab
        self.slab_mm.valueChanged.connect(lambda v: self.model.set_slab(self.model.slab_mode, v))
        toolbar.addWidget(self.slab_box)
        toolbar.addWidget(self.slab_mm)

    def _build_ai_actions(self, ai_menu: object, toolbar: QToolBar) -> None:
        toolbar.addSeparator()
        self.analyze_action = self._action("Analyze", self.ai.analyze, "Ctrl+A")
        self.analyze_action.setToolTip("Run every applicable AI model on the open series (Ctrl+A)")
        self.cancel_analysis_action = self._action("Cancel analysis", self.ai.cancel, "Esc")
        self.cancel_analysis_action.setIconText("Cancel")  # (short on the toolbar)
        self.cancel_analysis_action.setToolTip("Cancel the running analysis (Esc)")
        self.cancel_analysis_action.setEnabled(False)
        self.heat_action = self._action("Heat map on/off", self.ai.overlay.toggle_heat, "H")
        self.sort_by_ai_action = self._action("Sort studies by AI", self.ai.sort_by_ai)
        for action in (self.analyze_action, self.cancel_analysis_action, self.heat_action,
                       self.sort_by_ai_action):
            ai_menu.addAction(action)
        self.ai.build_plain_image_menu(ai_menu.addMenu("Plain image shows"))
        for action in self.ai.kind_actions.values():  # (after the AI's own slot: the browser follows)
            action.triggered.connect(self._show_declared_modality)
        ai_menu.addSeparator()
        ai_menu.addAction(self.ai.findings_dock.toggleViewAction())
        ai_menu.addAction(self.ai.agreement_dock.toggleViewAction())
        toolbar.addAction(self.analyze_action)
        toolbar.addAction(self.cancel_analysis_action)

    @property
    def agreement_plot(self) -> AgreementPlot:
        return self.ai.plot

    def set_analysis_running(self, running: bool) -> None:
        self.analyze_action.setEnabled(not running)
        self.cancel_analysis_action.setEnabled(running)

    def _analysis_busy(self, running: bool) -> None:
        """An analysis started (progress from 0 %, Analyze off, Cancel on) or ended."""
        if running:
            self.progress.setRange(0, 100)
            self.progress.setValue(0)
            self.progress.show()
        else:
            self.progress.hide()
        self.set_analysis_running(running)

    def _show_analysis_text(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(text)

    def _connect_ai(self) -> None:
        self.ai.status.connect(self.status_label.setText)
        self.ai.analysed.connect(self._show_analysis_text)
        self.ai.progress.connect(self.progress.setValue)
        self.ai.busy.connect(self._analysis_busy)
        self.ai.thread_started.connect(self.track_thread)

    def _connect(self) -> None:
        self.browser.series_activated.connect(self.load_series)
        self.grid.status.connect(self.status_label.setText)
        self.measurement_panel.jump_requested.connect(self.model.show_measurement)
        self.model.volume_changed.connect(self._on_volume_changed)
        self.model.volume_changed.connect(self._show_declared_modality)
        self.model.display_changed.connect(self._sync_crosshair_action)
        self.model.display_changed.connect(self._sync_preset_box)
        self.model.tool_changed.connect(lambda: self.tool_actions[self.model.tool].setChecked(True))
        self._connect_ai()
        buttons = self.mouse_buttons()
        for view in self.grid.views.values():
            view.hovered.connect(self.hover_label.setText)
            view.button_actions = dict(buttons)

    def mouse_buttons(self) -> dict[str, str]:
        """Mouse-button actions from the settings ("mouse/left" = tool|window|zoom|pan)."""
        actions = dict(DEFAULT_BUTTON_ACTIONS)
        for button in actions:
            value = str(self.settings.value(f"mouse/{button}", actions[button]))
            actions[button] = value if value in BUTTON_ACTIONS else actions[button]
        return actions

    # --- layout / display -----------------------------------------------------------------
    def set_layout(self, name: str) -> None:
        self.grid.set_layout(name)
        self.layout_actions[name].setChecked(True)

    def _sync_crosshair_action(self) -> None:
        self.crosshair_action.blockSignals(True)
        self.crosshair_action.setChecked(self.model.show_crosshair)
        self.crosshair_action.blockSignals(False)

    def _sync_preset_box(self) -> None:
        """Show the preset the current window is (none after a W/L drag)."""
        windows, current = self._presets, self.model.window
        self.preset_box.setCurrentIndex(windows.index(current) if current in windows else -1)

    def _slab_changed(self, text: str) -> None:
        self.slab_mm.setEnabled(_SLAB_MODES[text] is not None)
        self.model.set_slab(_SLAB_MODES[text], self.slab_mm.value())

    def _show_declared_modality(self) -> None:
        """The browser names what the reader declared the open plain image to show."""
        declared = "(declared)" in self.model.info.get("modality", "")  # a plain image, declared
        self.browser.show_declared_modality(self.series, self.ai.plain_image_kind if declared else None)

    def _on_volume_changed(self) -> None:
        self.preset_box.clear()
        self._presets = presets_for(self.model.volume)
        for n, window in enumerate(self._presets, 1):
            self.preset_box.addItem(f"{n}: {window.name or 'window'} ({window.width:g}/{window.center:g})")
        self._sync_preset_box()

    # --- opening --------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open DICOM folder")
        if folder:
            self.open_path(folder)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open DICOM or image file")
        if path:
            self.open_path(path)

    def open_path(self, path: str | os.PathLike[str]) -> None:
        """Index ``path`` in a worker thread, list it in the browser, then load its largest series."""
        path = Path(path)
        self._add_recent(path)
        self._set_busy(f"Reading {path.name or path}…")
        worker = IndexWorker(path)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_indexed)
        worker.failed.connect(self._on_failed)
        self._run(worker)

    def _on_indexed(self, index: DicomIndex) -> None:
        self.index = index
        self.browser.set_index(index)
        self.ai.refresh_triage()
        if not index.series:
            errors = [p for p in index.problems if p.severity == "error"]
            detail = f": {errors[0]}" if errors else ""
            self._on_failed(f"No image found in {index.root.name}{detail}")
            return
        self.load_series(max(index.series, key=lambda s: s.frame_count))

    def load_series(self, series: SeriesRecord) -> None:
        """Load one series (progressively: the first slices show while the rest is read)."""
        if self._load_worker is not None:
            self._load_worker.cancel()
        self.series = series
        self.ai.open_series(series.descriptor.body_part_examined, self._passed_over())
        self._set_busy(f"Loading {series_title(series)}…")
        worker = LoadWorker(series)
        worker.geometry_ready.connect(self._on_geometry)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_loaded)
        worker.failed.connect(self._on_failed)
        self._load_worker = worker
        self._run(worker)

    def _passed_over(self) -> list[Path]:
        """Files of the open index it passed over (a RadSight DICOM SR beside the series, say)."""
        problems = self.index.problems if self.index is not None else []
        return [p.path for p in problems if p.severity == "ignored"]

    def _run(self, worker: IndexWorker | LoadWorker) -> None:
        self.track_thread(start_worker(worker, self), worker)

    def track_thread(self, thread: QThread, worker: object) -> None:
        """Keep a worker and its thread alive until the thread ends."""
        self._threads[thread] = worker
        thread.finished.connect(self._thread_done)

    def _thread_done(self) -> None:
        """A worker thread ended: release its worker here, in the GUI thread, once it is joined."""
        thread = self.sender()
        thread.wait()  # ``finished`` comes from the ending thread: let it end completely
        self._threads.pop(thread, None)

    def _on_geometry(self, volume: Volume) -> None:
        if self.sender() is not self._load_worker:
            return
        self.model.set_volume(volume, series_info(self.series, volume), complete=False)
        self.grid.current.setFocus()  # keys (paging, presets) work without a click first

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if isinstance(self.sender(), LoadWorker):
            self.model.data_changed.emit()

    def _on_loaded(self, result: LoadResult) -> None:
        if self.sender() is not self._load_worker:
            return
        self.result = result
        self._load_worker = None
        self.model.replace_volume(result.volume)
        self.model.data_changed.emit()
        self.progress.hide()
        self.status_label.setText(self._loaded_message(result))

    @staticmethod
    def _loaded_message(result: LoadResult) -> str:
        volume = result.volume
        text = f"Loaded {volume.shape[0]} image(s), {volume.shape[2]}×{volume.shape[1]}"
        notes = list(volume.warnings) + [str(p) for p in result.problems if p.severity != "ignored"]
        return text + (" — " + "; ".join(notes) if notes else "")

    def _on_failed(self, message: str) -> None:
        sender = self.sender()
        if isinstance(sender, LoadWorker) and sender is not self._load_worker:
            return  # a load replaced by a newer one (cancelled on purpose): nothing to report
        self._load_worker = None if isinstance(sender, LoadWorker) else self._load_worker
        self.last_error = message
        self.progress.hide()
        self.status_label.setText(message)
        box = QMessageBox(QMessageBox.Icon.Warning, "RadSight", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()  # not exec(): never blocks the UI (or a test) on a message
        QTimer.singleShot(0, box.raise_)

    def _set_busy(self, message: str) -> None:
        self.status_label.setText(message)
        self.progress.setRange(0, 0)
        self.progress.show()

    def is_loading(self) -> bool:
        return bool(self._threads)

    # --- recent studies -------------------------------------------------------------------
    def recent_paths(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _add_recent(self, path: Path) -> None:
        entry = str(path.resolve())
        recent = [entry] + [p for p in self.recent_paths() if p != entry]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.recent_paths():
            self.recent_menu.addAction(self._action(entry, lambda _=False, p=entry: self.open_path(p)))
        self.recent_menu.setEnabled(bool(self.recent_paths()))

    # --- drag and drop --------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])

    # --- about / close --------------------------------------------------------------------
    def about_text(self) -> str:
        return about_markdown()

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About RadSight — Not for diagnostic use",
                          self.about_text(), QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.MarkdownText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        """On a wide screen the Studies dock gets room for its AI columns (once; the reader's own
        dock sizes are kept after that)."""
        super().resizeEvent(event)
        if self.width() >= WIDE_WINDOW_PX and not self._studies_widened:
            self._studies_widened = True
            studies = self.findChild(QDockWidget, "dock-studies")
            self.resizeDocks([studies], [WIDE_STUDIES_PX], Qt.Orientation.Horizontal)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self._load_worker is not None:
            self._load_worker.cancel()
        self.ai.shutdown()
        self.view_filters.shutdown()  # joins the view-filter thread
        self.thumbnails.shutdown()
        for thread in list(self._threads):
            thread.quit()
            if thread.wait(30_000):
                self._threads.pop(thread, None)  # its worker is released here, in the GUI thread
            else:
                _keep_until_finished(thread, self._threads.pop(thread))
        self.grid.stop_preparing()  # joins the 3D mask thread
        if self.grid.view_3d is not None:  # its VTK render window goes while its X window exists
            self.grid.view_3d.close()
        super().closeEvent(event)
