"""Send to…: C-STORE a study's files to a DICOM node, with progress and cancel.

The transfer runs in a background task (cancel stops between two files); the dialog joins the
task when it closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from viewer.core.audit_log import AuditLog
from viewer.core.dicom_peers import RemoteNode
from viewer.core.dicom_scu import TransferReport, send_files
from viewer.ui.node_tasks import BackgroundTask


class SendDialog(QDialog):
    finished_sending = Signal(object)  # TransferReport

    def __init__(self, paths: Sequence[Path], what: str, settings: QSettings, audit: AuditLog,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send to…")
        self.paths, self.settings, self.audit = list(paths), settings, audit
        self.task: BackgroundTask | None = None
        self.report: TransferReport | None = None
        self.peer = QLineEdit(str(settings.value("dicom/send_to", "")), self)
        self.peer.setPlaceholderText("Destination as AET@HOST:PORT")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, max(len(self.paths), 1))
        self.progress.setValue(0)
        self.status = QLabel(f"{what}: {len(self.paths)} files", self)
        self.send_button = QPushButton("Send", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.send_button.clicked.connect(self.send)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        for widget in (QLabel("Send to", self), self.peer, self.progress, self.status):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.resize(460, 160)

    def send(self) -> None:
        try:
            peer = RemoteNode.parse(self.peer.text())
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        if self.task is not None and self.task.running:
            return
        self.settings.setValue("dicom/send_to", self.peer.text().strip())
        calling, paths, audit = str(self.settings.value("node/aet", "RADSIGHT")), self.paths, self.audit
        self.task = BackgroundTask(lambda progress, cancel: send_files(
            peer, paths, calling, progress=progress, cancel=cancel, audit=audit), self)
        self.task.progress.connect(self._on_progress)
        self.task.succeeded.connect(self._on_done)
        self.task.failed.connect(self._on_failed)
        self.send_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"Sending to {peer}…")
        self.task.start()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText("Cancelling…")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_done(self, report: TransferReport) -> None:
        self.report = report
        self.cancel_button.setEnabled(False)
        self.send_button.setEnabled(True)
        state = "Cancelled after" if report.cancelled else "Sent"
        self.status.setText(f"{state} {report.completed} instances"
                            + (f", {report.failed} failed" if report.failed else ""))
        self.finished_sending.emit(report)

    def _on_failed(self, message: str) -> None:
        self.cancel_button.setEnabled(False)
        self.send_button.setEnabled(True)
        self.status.setText(message)

    def done(self, result: int) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task.join()
        super().done(result)
