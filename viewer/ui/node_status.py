"""The DICOM node inside the window: start/stop it, and its status in the status bar.

:class:`NodeController` runs :class:`viewer.core.dicom_node.DicomNode` (its own threads) on the
window's study database and turns "an instance was filed" into the Qt signal ``received`` (in
the UI thread) so that the database list and the status line follow. Its configuration (AE
title, port, allowed peers as ``AET@HOST``) is read from QSettings under ``node/``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QLabel, QWidget

from viewer.core.audit_log import LOG_FILE, AuditLog
from viewer.core.dicom_node import DicomNode, NodeConfig, NodeStats
from viewer.core.dicom_peers import AllowedPeer
from viewer.core.study_db import StudyDB


def node_config(settings: QSettings) -> NodeConfig:
    """The node's configuration from settings (raises PeerError for a bad allowed peer)."""
    allowed = settings.value("node/allow", [])
    allowed = [allowed] if isinstance(allowed, str) else list(allowed or [])
    return NodeConfig(str(settings.value("node/aet", "RADSIGHT")), int(settings.value("node/port", 11112)),
                      str(settings.value("node/bind", "0.0.0.0")), [AllowedPeer.parse(a) for a in allowed])


class NodeController(QObject):
    received = Signal(int)  # instances received since the node started
    changed = Signal(str)  # the status line

    def __init__(self, db: StudyDB, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.node: DicomNode | None = None
        self._stats_signal.connect(self._on_stats)

    _stats_signal = Signal(object)

    @property
    def running(self) -> bool:
        return self.node is not None and self.node.running

    def start(self, config: NodeConfig) -> None:
        """Listen with ``config``; a port in use becomes a status line, not an exception."""
        self.stop()
        audit = AuditLog(self.db.folder / LOG_FILE)
        node = DicomNode(config, self.db, audit, on_stored=self._stats_signal.emit)
        try:
            node.start()
        except OSError as exc:
            self.changed.emit(f"DICOM node off: port {config.port} unavailable ({exc.strerror or exc})")
            return
        self.node = node
        self.changed.emit(self.status_text())

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None
            self.changed.emit(self.status_text())

    def status_text(self) -> str:
        if not self.running or self.node is None:
            return "DICOM node off"
        stats = self.node.stats
        return (f"DICOM node {self.node.config.ae_title} :{self.node.port} — {stats.received} received"
                + (f", {stats.failed} failed" if stats.failed else "")
                + (f", {stats.refused} refused" if stats.refused else ""))

    def _on_stats(self, stats: NodeStats) -> None:
        self.received.emit(stats.received)
        self.changed.emit(self.status_text())


class NodeStatusLabel(QLabel):
    """The node's status line, for the status bar."""

    def __init__(self, controller: NodeController, parent: QWidget | None = None) -> None:
        super().__init__(controller.status_text(), parent)
        controller.changed.connect(self.setText)
