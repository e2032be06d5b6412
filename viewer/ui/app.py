"""QApplication setup for RadSight: names (for QSettings), style, palette, resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ORGANIZATION = "RadSight"
APPLICATION = "RadSight"
TITLE = "RadSight — Not for diagnostic use"


def resources_dir() -> Path:
    """`resources/` of the source tree, or of a PyInstaller bundle (``sys._MEIPASS``)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


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
    """Open the main window (and ``path`` if given) and run the event loop."""
    app = create_app()
    from viewer.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if path is not None:
        window.open_path(path)
    return int(app.exec())
