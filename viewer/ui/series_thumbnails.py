"""Series thumbnails in the study browser: the middle image of each series, made in a worker
thread once the browser lists a folder (one file read per series; cached by
`viewer.core.series_thumbnail`), shown as the series row's icon.

    thumbnails = install_series_thumbnails(window)  # follows window.browser.index_shown
    thumbnails.done                                  # True once every series has its picture
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap

from viewer.core.dicom_index import DicomIndex, SeriesRecord
from viewer.core.series_thumbnail import ThumbnailError, thumbnail
from viewer.ui.workers import start_worker

if TYPE_CHECKING:
    from viewer.ui.main_window import MainWindow

THUMBNAIL_PX = 48
_SERIES_ROLE = Qt.ItemDataRole.UserRole


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


class SeriesThumbnails(QObject):
    """Gives every series row of the window's study browser its thumbnail."""

    def __init__(self, window: MainWindow, size: int = THUMBNAIL_PX) -> None:
        super().__init__(window)
        self.window, self.size = window, size
        self.worker: ThumbnailWorker | None = None
        self.series: list[SeriesRecord] = []
        self.done = False
        browser = window.browser
        browser.setUniformRowHeights(False)  # series rows are taller than patient/study rows
        browser.setIconSize(QSize(size, size))
        browser.index_shown.connect(self.start)

    def start(self, index: DicomIndex) -> None:
        if self.worker is not None:
            self.worker.cancel()
        self.series, self.done = list(index.series), False
        worker = ThumbnailWorker(self.series, self.size)
        worker.made.connect(self._on_made)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.window.track_thread(start_worker(worker, self.window), worker)

    def _on_made(self, n: int, picture: np.ndarray) -> None:
        if self.sender() is not self.worker:
            return
        icon = QIcon(to_pixmap(picture))
        for item in self.window.browser.series_items():
            if item.data(0, _SERIES_ROLE) is self.series[n]:
                item.setIcon(0, icon)

    def _on_finished(self, _count: int) -> None:
        if self.sender() is self.worker:
            self.window.browser.resizeColumnToContents(0)  # the titles beside their new icons
            self.done = True

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.cancel()


def install_series_thumbnails(window: MainWindow) -> SeriesThumbnails:
    return SeriesThumbnails(window)
