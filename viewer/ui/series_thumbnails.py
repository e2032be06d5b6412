"""Series thumbnails in the study browser: the middle image of each series, made in a worker
thread once the browser lists a folder (one file read per series; cached by
`viewer.core.series_thumbnail`), shown as the series row's icon.

    thumbnails = SeriesThumbnails(window, window.browser, window.track_thread)  # follows index_shown
    thumbnails.done  # True once every series has had its try

:class:`TreeThumbnails` is the part shared with the Database list's study thumbnails
(`viewer.ui.database_thumbnails`): one worker at a time, each picture set as a tree row's icon.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, QThread, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from viewer.core.dicom_index import DicomIndex, SeriesRecord
from viewer.core.series_thumbnail import ThumbnailError, thumbnail
from viewer.ui.study_browser import StudyBrowser
from viewer.ui.workers import start_worker

THUMBNAIL_PX = 48
_SERIES_ROLE = Qt.ItemDataRole.UserRole
StartThread = Callable[[QThread, QObject], None]  # keeps a worker and its thread until the thread ends


class ThumbnailWorker(QObject):
    """Makes the thumbnails of a list of sources (series, or files with ``make=file_thumbnail``);
    ``made(n, array)`` for each, then ``finished``."""

    made = Signal(int, object)
    finished = Signal(int)  # how many were made
    failed = Signal(str)

    def __init__(self, series: Sequence[Any], size: int,
                 make: Callable[[Any, int], np.ndarray] = thumbnail) -> None:
        super().__init__()
        self.series, self.size, self.make = list(series), size, make
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        count = 0
        for n, series in enumerate(self.series):
            if self._cancel.is_set():
                break
            try:
                picture = self.make(series, self.size)
            except ThumbnailError:
                continue  # the row keeps no icon; loading the series will say why
            except Exception:  # noqa: BLE001 - a damaged file must never leave the thread running
                continue
            self.made.emit(n, picture)
            count += 1
        self.finished.emit(count)


def to_pixmap(picture: np.ndarray) -> QPixmap:
    """uint8 greyscale (h, w) → QPixmap (copied)."""
    picture = np.ascontiguousarray(picture)
    h, w = picture.shape
    image = QImage(picture.data, w, h, w, QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image.copy())


class TreeThumbnails(QObject):
    """One :class:`ThumbnailWorker` at a time over a list of sources; each picture becomes the icon of
    the rows ``rows_of(n)`` names for source ``n``. Users say what to picture (:meth:`_run`) and where."""

    def __init__(self, parent: QObject, tree: QTreeWidget, track_thread: StartThread, size: int,
                 rows_of: Callable[[int], list[QTreeWidgetItem]]) -> None:
        super().__init__(parent)
        self.tree, self.track_thread, self.size, self.rows_of = tree, track_thread, size, rows_of
        self.worker: ThumbnailWorker | None = None
        self.done = False
        tree.setUniformRowHeights(False)  # rows with an icon are taller than the others
        tree.setIconSize(QSize(size, size))

    def _run(self, sources: Sequence[Any], make: Callable[[Any, int], np.ndarray] = thumbnail) -> None:
        self.shutdown()
        self.done = False
        if not sources:
            self.worker, self.done = None, True  # nothing listed: no thread
            return
        worker = ThumbnailWorker(sources, self.size, make=make)
        worker.made.connect(self._on_made)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.track_thread(start_worker(worker, self), worker)

    def _on_made(self, n: int, picture: np.ndarray) -> None:
        if self.sender() is not self.worker:
            return
        icon = QIcon(to_pixmap(picture))
        for item in self.rows_of(n):
            item.setIcon(0, icon)

    def _on_finished(self, _count: int) -> None:
        if self.sender() is self.worker:
            self.tree.resizeColumnToContents(0)  # the titles beside their new icons
            self.done = True

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.cancel()


class SeriesThumbnails(TreeThumbnails):
    """Gives every series row of the study browser its thumbnail, each time it lists a folder."""

    def __init__(self, parent: QObject, browser: StudyBrowser, track_thread: StartThread,
                 size: int = THUMBNAIL_PX) -> None:
        super().__init__(parent, browser, track_thread, size, self._series_rows)
        self.browser = browser
        self.series: list[SeriesRecord] = []
        browser.index_shown.connect(self.start)

    def start(self, index: DicomIndex) -> None:
        self.series = list(index.series)
        self._run(self.series)

    def _series_rows(self, n: int) -> list[QTreeWidgetItem]:
        return [item for item in self.browser.series_items() if item.data(0, _SERIES_ROLE) is self.series[n]]
