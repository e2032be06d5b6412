"""Screenshot of the active slice view, as the reader sees it (corner text, overlays, scale bar):
to a PNG file (File › Save view as image…, Ctrl+Shift+S) or to the clipboard (Copy view, Ctrl+Shift+C).

    shots = Screenshots(window)
    shots.add_to_menu(file_menu)
    shots.save(Path("view.png")); shots.copy()
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu

if TYPE_CHECKING:
    from viewer.ui.main_window import MainWindow


class Screenshots(QObject):
    """The two screenshot actions of one window (see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.save_action = QAction("Save view as &image…", window)
        self.save_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.save_action.triggered.connect(self.choose_and_save)
        self.copy_action = QAction("&Copy view", window)
        self.copy_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.copy_action.triggered.connect(self.copy)

    def add_to_menu(self, menu: QMenu) -> None:
        menu.addAction(self.save_action)
        menu.addAction(self.copy_action)

    def image(self) -> QImage | None:
        """The active slice view's pixels (None before a series is open)."""
        if self.window.model.volume is None:
            return None
        return self.window.grid.current.render_image()

    def save(self, path: Path) -> str:
        image = self.image()
        if image is None:
            return "Open a series first"
        if not image.save(str(path), "PNG"):
            return f"Could not write {path}"
        return f"View saved: {path} ({image.width()}×{image.height()})"

    def copy(self) -> None:
        image = self.image()
        if image is not None:
            QApplication.clipboard().setImage(image)
        self.window.status_label.setText("View copied to the clipboard" if image is not None
                                         else "Open a series first")

    def choose_and_save(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self.window, "Save view as image", "view.png", "PNG (*.png)")
        if name:
            self.window.status_label.setText(self.save(Path(name)))
