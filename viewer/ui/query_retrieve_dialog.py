"""Query/Retrieve: find studies on a PACS (C-FIND) and retrieve one into the study database
(C-GET over the same association, so the PACS needs no route back to this workstation).

Each search and retrieve runs in a background task; the dialog joins it when it closes.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from viewer.core.audit_log import LOG_FILE, AuditLog
from viewer.core.dicom_peers import RemoteNode
from viewer.core.dicom_scu import RemoteStudy, TransferReport, find_studies, get_study
from viewer.core.study_db import StudyDB
from viewer.ui.node_tasks import BackgroundTask
from viewer.ui.study_browser import format_date

RESULT_COLUMNS = ("Patient", "Patient ID", "Date", "Modality", "Description", "Images")
_UID_ROLE = Qt.ItemDataRole.UserRole


class QueryRetrieveDialog(QDialog):
    retrieved = Signal(str)  # StudyInstanceUID now in the database

    def __init__(self, db: StudyDB, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Query / Retrieve")
        self.db, self.settings = db, settings
        self.task: BackgroundTask | None = None
        self.peer = QLineEdit(str(settings.value("dicom/pacs", "")), self)
        self.peer.setPlaceholderText("PACS as AET@HOST:PORT")
        self.calling = QLineEdit(str(settings.value("node/aet", "RADSIGHT")), self)
        self.terms: dict[str, QLineEdit] = {}
        for name, hint in (("patient_name", "Patient name (* wildcards)"), ("patient_id", "Patient ID"),
                           ("study_date", "Date YYYYMMDD or YYYYMMDD-YYYYMMDD"), ("modality", "Modality")):
            self.terms[name] = QLineEdit(self)
            self.terms[name].setPlaceholderText(hint)
        self.search_button = QPushButton("Search", self)
        self.retrieve_button = QPushButton("Retrieve", self)
        self.results = QTreeWidget(self)
        self.results.setColumnCount(len(RESULT_COLUMNS))
        self.results.setHeaderLabels(list(RESULT_COLUMNS))
        self.results.setRootIsDecorated(False)
        self.status = QLabel("Enter the PACS and search terms, then Search.", self)
        self.search_button.clicked.connect(self.search)
        self.retrieve_button.clicked.connect(self.retrieve_selected)
        self.results.itemDoubleClicked.connect(lambda *_: self.retrieve_selected())
        self._layout()
        self.resize(760, 420)

    def _layout(self) -> None:
        grid = QGridLayout()
        grid.addWidget(QLabel("PACS", self), 0, 0)
        grid.addWidget(self.peer, 0, 1)
        grid.addWidget(QLabel("Our AE title", self), 0, 2)
        grid.addWidget(self.calling, 0, 3)
        for n, field in enumerate(self.terms.values()):
            grid.addWidget(field, 1 + n // 2, (n % 2) * 2, 1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.search_button)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.retrieve_button)
        layout.addWidget(self.status)

    def _remote(self) -> RemoteNode | None:
        try:
            peer = RemoteNode.parse(self.peer.text())
        except ValueError as exc:
            self.status.setText(str(exc))
            return None
        self.settings.setValue("dicom/pacs", self.peer.text().strip())
        return peer

    def _busy(self) -> bool:
        return self.task is not None and self.task.running

    def search(self) -> None:
        peer = self._remote()
        if peer is None or self._busy():
            return
        terms = {name: field.text().strip() for name, field in self.terms.items()}
        calling, audit = self.calling.text().strip() or "RADSIGHT", AuditLog(self.db.folder / LOG_FILE)
        self.status.setText(f"Searching {peer}…")
        self._run(lambda progress, cancel: find_studies(peer, calling, audit=audit, **terms),
                  self._show_results)

    def _show_results(self, studies: list[RemoteStudy]) -> None:
        self.results.clear()
        for study in studies:
            item = QTreeWidgetItem([study.patient_name, study.patient_id, format_date(study.study_date),
                                    "/".join(study.modalities), study.study_description,
                                    "" if study.n_instances is None else str(study.n_instances)])
            item.setData(0, _UID_ROLE, study.study_instance_uid)
            self.results.addTopLevelItem(item)
        for column in range(len(RESULT_COLUMNS)):
            self.results.resizeColumnToContents(column)
        if studies:
            self.results.setCurrentItem(self.results.topLevelItem(0))
        self.status.setText(f"{len(studies)} studies found")

    def retrieve_selected(self) -> None:
        item, peer = self.results.currentItem(), self._remote()
        if item is None or peer is None or self._busy():
            return
        uid = item.data(0, _UID_ROLE)
        calling, audit = self.calling.text().strip() or "RADSIGHT", AuditLog(self.db.folder / LOG_FILE)
        self.status.setText("Retrieving…")
        self._run(lambda progress, cancel: get_study(peer, uid, self.db, calling, audit=audit),
                  lambda report: self._retrieved(uid, report))

    def _retrieved(self, uid: str, report: TransferReport) -> None:
        self.status.setText(f"Retrieved {report.completed} instances"
                            + (f", {report.failed} failed" if report.failed else "") + " into the database")
        self.retrieved.emit(uid)

    def _run(self, job: object, on_success: object) -> None:
        self.task = BackgroundTask(job, self)  # type: ignore[arg-type]
        self.task.succeeded.connect(on_success)
        self.task.failed.connect(self.status.setText)
        self.task.start()

    def done(self, result: int) -> None:
        if self.task is not None:
            self.task.join()
        super().done(result)
