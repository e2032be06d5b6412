"""Study thumbnails in the Database list: the middle image of each listed study's largest series
(`StudyDB.representative_instance`), made in a worker thread after every search or refresh (one file
read per study; cached by `viewer.core.series_thumbnail`), shown as the study row's icon.

    thumbnails = DatabaseThumbnails(studies, db, window.track_thread)  # follows studies.listed
    thumbnails.done  # True once every listed study has had its try
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QTreeWidgetItem

from viewer.core.series_thumbnail import ThumbnailError, file_thumbnail
from viewer.core.study_db import StudyDB, StudyDBError
from viewer.ui.series_thumbnails import THUMBNAIL_PX, StartThread, TreeThumbnails
from viewer.ui.study_browser import DatabaseStudyList


class DatabaseThumbnails(TreeThumbnails):
    """Gives every study row of a :class:`DatabaseStudyList` its thumbnail."""

    def __init__(self, studies: DatabaseStudyList, db: StudyDB, track_thread: StartThread,
                 size: int = THUMBNAIL_PX) -> None:
        super().__init__(studies, studies.tree, track_thread, size, self._study_rows)
        self.studies, self.db = studies, db
        self.uids: list[str] = []
        studies.listed.connect(self.start)
        self.start()  # the list filled when the widget was made

    def start(self) -> None:
        self.uids = self.studies.study_uids()
        self._run(self._sources() if self.uids else [], make=_file_picture)

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

    def _study_rows(self, n: int) -> list[QTreeWidgetItem]:
        if n >= self.tree.topLevelItemCount():
            return []
        item = self.tree.topLevelItem(n)
        return [item] if self.studies.study_uid_of(item) == self.uids[n] else []


def _file_picture(path: Path | None, size: int) -> np.ndarray:
    if path is None:
        raise ThumbnailError("the study has no stored instance")
    return file_thumbnail(path, size)
