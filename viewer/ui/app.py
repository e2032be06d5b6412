"""QApplication setup for RadSight: names (for QSettings), style, palette, resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from viewer.core.resources import resources_dir

ORGANIZATION = "RadSight"
APPLICATION = "RadSight"


def ensure_display() -> None:
    """Without an X display or Wayland, fall back to Qt's offscreen platform (2D paints fine)."""
    has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not has_display:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _dark_palette() -> QPalette:
    palette = QPalette()
    base, text = QColor(37, 37, 40), QColor(220, 220, 220)
    for role, colour in (
        (QPalette.ColorRole.Window, QColor(45, 45, 48)), (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, QColor(52, 52, 56)),
        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, QColor(52, 52, 56)),
        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.Highlight, QColor(42, 110, 180)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.ToolTipBase, base), (QPalette.ColorRole.ToolTipText, text),
    ):
        palette.setColor(role, colour)
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(150, 150, 150))
    disabled = QColor(110, 110, 114)  # disabled controls look disabled (≈ 2.4:1 against the bar)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (the existing one if there is one), named and styled."""
    app = QApplication.instance()
    if app is None:
        ensure_display()
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setStyle("Fusion")
    app.setPalette(_dark_palette())
    return app  # type: ignore[return-value]


def run_viewer(path: str | os.PathLike[str] | None = None) -> int:
    """Open the main window and run the event loop. ``path`` opens; without one, the sample
    study (the first time with its AI findings and a "How to read this" panel)."""
    app = create_app()
    from viewer.ui.first_launch import open_at_start
    from viewer.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    window.first_launch = open_at_start(window, Path(path) if path is not None else None,
                                        resources_dir() / "sample")
    return int(app.exec())
