"""File › Report… and key images in the window: the report of what is on screen as one HTML file
(or PDF, printed from that HTML through Qt), built by the Qt-free
:mod:`viewer.analysis.report_content` / :mod:`viewer.analysis.report_html`.

    reading = ReadingReport(window)           # adds the Key images panel and the File menu entries
    reading.write(Path("report.html"))        # what File › Report… does after its file dialog

The window gives it what it shows: the volume, the series header, the analysis (``window.ai``:
summary with maps, else the stored findings), the feedback store, the measurements and the key
images. Not for diagnostic use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMenu

from viewer.analysis.report_content import ReportContent, build_content
from viewer.analysis.report_html import render_report
from viewer.ui.key_images import KeyImageList, KeyImages

if TYPE_CHECKING:
    from viewer.ui.main_window import MainWindow


def write_pdf(html: str, path: Path) -> int:
    """Print ``html`` to an A4 PDF through Qt's rich-text engine; returns the page count."""
    document = QTextDocument()
    document.setHtml(html)
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setResolution(150)
    writer.setTitle("RadSight reading report - not for diagnostic use")
    document.print_(writer)
    return document.pageCount()


class ReadingReport(QObject):
    """Key images and the report for one window (see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.keys = KeyImages(window.model, self)
        self.keys.changed.connect(window.grid.update_views)
        window.grid.add_layer(self.keys.paint_view)
        self.key_list = KeyImageList(self.keys)
        self.key_action = QAction("Key image on/off", window)
        self.key_action.setShortcut(QKeySequence("K"))
        self.key_action.triggered.connect(lambda: self.keys.toggle())
        self.report_action = QAction("&Report…", window)
        self.report_action.setShortcut(QKeySequence("Ctrl+R"))
        self.report_action.triggered.connect(self.choose_and_write)
        window.addAction(self.key_action)

    def add_to_menu(self, menu: QMenu) -> None:
        menu.addAction(self.report_action)
        menu.addAction(self.key_action)

    def add_dock(self) -> QDockWidget:
        """The Key images panel, tabbed with the measurements when that dock exists."""
        dock = QDockWidget("Key images", self.window)
        dock.setObjectName("dock-key-images")
        dock.setWidget(self.key_list)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        measurements = self.window.findChild(QDockWidget, "dock-measurements")
        if measurements is not None:
            self.window.tabifyDockWidget(measurements, dock)
            measurements.raise_()
        return dock

    def content(self) -> ReportContent | None:
        """What the window shows, as report content (None without a volume)."""
        window = self.window
        volume = window.model.volume
        if volume is None:
            return None
        series = getattr(window, "series", None)
        header = series.frames[0].path if series is not None and series.frames else None
        summary = window.ai.summary
        if summary is not None and summary.series_instance_uid != volume.series_instance_uid:
            summary = None
        return build_content(volume, header, summary, window.ai.db, self.keys.slices(),
                             list(window.model.measurements))

    def write(self, path: Path) -> str:
        """Write the report to ``path`` (.pdf: printed; else HTML); returns the status text."""
        content = self.content()
        if content is None:
            return "Report: open a series first"
        html = render_report(content)
        try:
            if path.suffix.lower() == ".pdf":
                pages = write_pdf(html, path)
                return f"Report written: {path} ({pages} page(s)). Not for diagnostic use."
            path.write_text(html, encoding="utf-8")
        except OSError as exc:
            return f"Report not written: {exc.strerror or exc}"
        return f"Report written: {path}. Not for diagnostic use."

    def choose_and_write(self) -> None:
        if self.window.model.volume is None:
            self.window.status_label.setText("Report: open a series first")
            return
        name, _ = QFileDialog.getSaveFileName(self.window, "Write report", "report.html",
                                              "Report (*.html *.pdf)")
        if name:
            self.window.status_label.setText(self.write(Path(name)))
