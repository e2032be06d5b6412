"""The clinic features of the main window: the study database list, the DICOM node and its
status, Query/Retrieve, Send to… and Import into the database.

:func:`install_clinic` adds a "Database" dock (double-click opens a study), a "DICOM" menu and
the node's status line to a main window, and stops the node and joins its tasks when the window
closes. The database is the one in RadSight's data folder unless ``db_folder`` is given.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow

from viewer.core.audit_log import LOG_FILE, AuditLog
from viewer.core.dicom_import import import_path
from viewer.core.dicom_peers import PeerError
from viewer.core.storage_db import StorageError
from viewer.core.study_db import StudyDB
from viewer.ui.database_thumbnails import DatabaseThumbnails
from viewer.ui.node_status import NodeController, NodeStatusLabel, node_config
from viewer.ui.node_tasks import BackgroundTask
from viewer.ui.query_retrieve_dialog import QueryRetrieveDialog
from viewer.ui.send_dialog import SendDialog
from viewer.ui.study_browser import DatabaseStudyList


def study_folder(db: StudyDB, study_instance_uid: str) -> Path | None:
    """The folder that holds a study's files (its managed-store folder, or the deepest folder
    common to the files it references)."""
    paths = [str(i.path) for i in db.instances(study_instance_uid=study_instance_uid)]
    if not paths:
        return None
    common = Path(os.path.commonpath(paths))
    return common.parent if common.is_file() else common


class ClinicFeatures(QObject):
    """What :func:`install_clinic` adds; kept on the window as ``window.clinic``."""

    def __init__(self, window: QMainWindow, db: StudyDB) -> None:
        super().__init__(window)
        self.window, self.db = window, db
        self.settings = window.settings  # type: ignore[attr-defined]
        self.audit = AuditLog(db.folder / LOG_FILE)
        self.studies = DatabaseStudyList(db, window)
        self.thumbnails = DatabaseThumbnails(self.studies, db, window.track_thread)  # type: ignore[attr-defined]
        self.node = NodeController(db, self)
        self.status = NodeStatusLabel(self.node, window)
        self.dialogs: list[QueryRetrieveDialog | SendDialog] = []
        self.tasks: list[BackgroundTask] = []
        self.studies.study_activated.connect(self.open_study)
        self.node.received.connect(lambda _: self.studies.refresh())
        window.installEventFilter(self)

    def open_study(self, study_instance_uid: str) -> None:
        folder = study_folder(self.db, study_instance_uid)
        if folder is not None:
            self.window.open_path(folder)  # type: ignore[attr-defined]

    def start_node(self) -> None:
        try:
            self.node.start(node_config(self.settings))
        except PeerError as exc:
            self.status.setText(f"DICOM node off: {exc}")

    def query_retrieve(self) -> QueryRetrieveDialog:
        dialog = QueryRetrieveDialog(self.db, self.settings, self.window)
        dialog.retrieved.connect(lambda _: self.studies.refresh())
        return self._show(dialog)

    def send_selected(self) -> SendDialog | None:
        uid = self.studies.selected_study_uid()
        if uid is None:
            self.status.setText("Select a study in the Database list to send it")
            return None
        paths = [i.path for i in self.db.instances(study_instance_uid=uid)]
        return self._show(SendDialog(paths, "Study", self.settings, self.audit, self.window))

    def _show(self, dialog: QueryRetrieveDialog | SendDialog) -> QueryRetrieveDialog | SendDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self.dialogs.remove(dialog) if dialog in self.dialogs else None)
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    def import_folder(self, folder: str | None = None) -> BackgroundTask | None:
        folder = folder or QFileDialog.getExistingDirectory(self.window, "Import into the database")
        if not folder:
            return None
        task = BackgroundTask(lambda progress, cancel: import_path(self.db, folder, progress=progress,
                                                                   audit=self.audit), self)
        task.succeeded.connect(lambda report: (self.studies.refresh(), self.studies.message.setText(
            report.summary())))
        task.failed.connect(self.studies.message.setText)
        self.tasks.append(task)
        task.start()
        return task

    def shutdown(self) -> None:
        self.thumbnails.shutdown()  # the window joins its thread
        for dialog in list(self.dialogs):
            dialog.close()
        for task in self.tasks:
            task.join()
        self.node.stop()
        self.db.close()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False


def install_clinic(window: QMainWindow,
                   db_folder: str | os.PathLike[str] | None = None) -> ClinicFeatures | None:
    """Add the clinic features to ``window`` (None, with a status message, when the database
    cannot be opened)."""
    try:
        db = StudyDB(db_folder)
    except (StorageError, OSError) as exc:
        window.statusBar().showMessage(f"Study database unavailable: {exc}")
        return None
    clinic = ClinicFeatures(window, db)
    dock = QDockWidget("Database", window)
    dock.setObjectName("dock-database")
    dock.setWidget(clinic.studies)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    studies_dock = window.findChild(QDockWidget, "dock-studies")
    if studies_dock is not None:
        window.tabifyDockWidget(studies_dock, dock)
        studies_dock.raise_()
    menu = window.menuBar().addMenu("&DICOM")
    for text, slot in (("&Query / Retrieve…", clinic.query_retrieve),
                       ("&Send study to…", clinic.send_selected),
                       ("&Import folder into database…", clinic.import_folder),
                       ("Start DICOM &node", clinic.start_node), ("Stop DICOM node", clinic.node.stop)):
        menu.addAction(text, lambda _=False, s=slot: s())
    menu.addAction(dock.toggleViewAction())
    window.statusBar().addPermanentWidget(clinic.status)
    return clinic
