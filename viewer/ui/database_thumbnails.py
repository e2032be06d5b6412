"""Study thumbnails in the Database list: the middle image of each listed study's largest series
(`StudyDB.representative_instance`), made in a worker thread after every search or refresh (one file
read per study; cached by `viewer.core.series_thumbnail`), shown as the study row's icon.

    thumbnails = DatabaseThumbnails(studies, db, window.track_thread)  # follows studies.listed
    thumbnails.done  # True once every listed study has had its try
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSize, QThread
from PySide6.QtGui import QIcon

from viewer.core.series_thumbnail import ThumbnailError, file_thumbnail
from viewer.core.study_db import StudyDB, StudyDBError
from viewer.ui.series_thumbnails import THUMBNAIL_PX, ThumbnailWorker, to_pixmap
from viewer.ui.study_browser import DatabaseStudyList
from viewer.ui.workers import start_worker

StartThread = Callable[[QThread, QObject], None]  # keeps a worker and its thread until the thread ends


class DatabaseThumbnails(QObject):
    """Gives every study row of a :class:`DatabaseStudyList` its thumbnail."""

    def __init__(self, studies: DatabaseStudyList, db: StudyDB, track_thread: StartThread,
                 size: int = THUMBNAIL_PX) -> None:
        super().__init__(studies)
        self.studies, self.db, self.track_thread, self.size = studies, db, track_thread, size
        self.worker: ThumbnailWorker | None = None
        self.uids: list[str] = []
        self.done = False
        studies.tree.setUniformRowHeights(False)
        studies.tree.setIconSize(QSize(size, size))
        studies.listed.connect(self.start)
        self.start()  # the list filled when the widget was made

    def start(self) -> None:
        self.shutdown()
        self.uids, self.done = self.studies.study_uids(), False
        if not self.uids:
            self.worker, self.done = None, True  # nothing listed: no thread
            return
        worker = ThumbnailWorker(self._sources(), self.size, make=_file_picture)
        worker.made.connect(self._on_made)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.track_thread(start_worker(worker, self), worker)

    def _sources(self) -> list[Path | None]:
        """The file to picture per listed study (read here, in the GUI thread that owns the database)."""
        sources: list[Path | None] = []
        for uid in self.uids:
            try:
                instance = self.db.representative_instance(uid)
            except StudyDBError:
                instance = None
            sources.append(None if instance is None else instance.path)
        return sources

    def _on_made(self, n: int, picture: np.ndarray) -> None:
        tree = self.studies.tree
        if self.sender() is not self.worker or n >= tree.topLevelItemCount():
            return
        item = tree.topLevelItem(n)
        if self.studies.study_uid_of(item) == self.uids[n]:
            item.setIcon(0, QIcon(to_pixmap(picture)))

    def _on_finished(self, _count: int) -> None:
        if self.sender() is self.worker:
            self.studies.tree.resizeColumnToContents(0)  # the names beside their new icons
            self.done = True

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.cancel()


def _file_picture(path: Path | None, size: int) -> np.ndarray:
    if path is None:
        raise ThumbnailError("the study has no stored instance")
    return file_thumbnail(path, size)
