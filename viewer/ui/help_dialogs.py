"""Help › Keyboard shortcuts, Model cards and About RadSight: read-only dialogs.

The shortcut list is read from the window's own actions (plus the slice views' keys), so it
cannot drift from what the keys do. Model cards are the shipped ``MODEL_CARD.md`` files; About
names the data sources, the licences and where their full texts are (the bundle's
``licenses/`` folder), and says "not for diagnostic use".
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QMainWindow,
    QMenu,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from viewer.core.resources import resources_dir

if TYPE_CHECKING:
    from viewer.ui.main_window import MainWindow

DISCLAIMER = "NOT FOR DIAGNOSTIC USE. Research and demonstration software; not a medical device."
VIEW_KEYS = [("Up / Down", "previous / next slice"), ("Page Up / Page Down", "10 slices back / on"),
             ("Home / End", "first / last slice"), ("1 … 9", "window preset"), ("R", "reset zoom and pan"),
             ("I", "invert grey scale"), ("C", "cine on/off"), ("Mouse wheel", "page slices"),
             ("Right drag / middle drag", "zoom / pan")]


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str]]:
    """(keys, what they do) for every window action with a shortcut, then the slice-view keys."""
    rows = []
    for action in window.findChildren(QAction):
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((keys, action.text().replace("&", "")))
    return sorted(set(rows), key=lambda row: row[1].lower()) + VIEW_KEYS


def shortcuts_markdown(window: QMainWindow) -> str:
    lines = ["# Keyboard shortcuts", "", "| Keys | Does |", "|---|---|"]
    lines += [f"| {keys} | {does} |" for keys, does in shortcut_rows(window)]
    return "\n".join(lines) + "\n"


def model_cards() -> dict[str, Path]:
    """Model name → its shipped MODEL_CARD.md."""
    return {card.parent.name: card for card in sorted((resources_dir() / "models").glob("*/MODEL_CARD.md"))}


def licences_folder() -> Path | None:
    """The bundle's ``licenses/`` folder (full licence texts), or None when run from source."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent / "licenses"
    return None


def about_markdown() -> str:
    sources = resources_dir() / "about" / "DATA_SOURCES.md"
    body = sources.read_text(encoding="utf-8") if sources.is_file() else "(data sources file missing)"
    folder = licences_folder()
    where = (f"Full licence texts of every bundled component: `{folder}`." if folder else
             "Full licence texts: each installed package's metadata (the release bundle collects them "
             "in its `licenses/` folder).")
    cards = ", ".join(model_cards()) or "none installed"
    return (f"# RadSight — offline radiology workstation with embedded AI\n\n**{DISCLAIMER}**\n\n"
            f"Model cards (Help › Model cards): {cards}.\n\n{where}\n\n{body}")


class TextDialog(QDialog):
    """A modeless dialog showing markdown, with a Close button."""

    def __init__(self, title: str, markdown: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(False)  # offline: never opens a browser or a URL
        self.browser.setMarkdown(markdown)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(760, 620)


class ModelCardsDialog(TextDialog):
    """The shipped models on the left, the selected one's card on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model cards — not for diagnostic use", "", parent)
        self.cards = model_cards()
        self.list = QListWidget(self)
        self.list.addItems(list(self.cards))
        self.list.currentTextChanged.connect(self.show_card)
        splitter = QSplitter(self)
        splitter.addWidget(self.list)
        splitter.addWidget(self.browser)
        splitter.setSizes([180, 580])
        self.layout().insertWidget(0, splitter)
        self.resize(900, 680)
        if self.cards:
            self.list.setCurrentRow(0)
        else:
            self.browser.setMarkdown("No model is installed.")

    def show_card(self, name: str) -> None:
        card = self.cards.get(name)
        if card is not None:
            self.browser.setMarkdown(card.read_text(encoding="utf-8"))


def show_dialog(window: MainWindow, dialog: QDialog) -> QDialog:
    """Show ``dialog`` modeless (never blocks the window or a test); it is deleted when closed."""
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.raise_()
    return dialog


def add_help_menu(window: MainWindow, menu: QMenu) -> None:
    """Help › Keyboard shortcuts (F1), How to read this, Model cards, About RadSight."""
    from viewer.ui.first_launch import how_to_read_dock

    window.help_actions = {}
    for text, shortcut, slot in (
        ("&Keyboard shortcuts", "F1",
         lambda: show_dialog(window, TextDialog("Keyboard shortcuts", shortcuts_markdown(window), window))),
        ("&How to read this", None, lambda: how_to_read_dock(window)),
        ("&Model cards", None, lambda: show_dialog(window, ModelCardsDialog(window))),
        ("&About RadSight", None, window.show_about),
    ):
        action = QAction(text, window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False, s=slot: s())
        menu.addAction(action)
        window.help_actions[text.replace("&", "")] = action
