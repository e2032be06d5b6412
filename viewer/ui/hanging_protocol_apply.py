"""Hanging protocols in the window: stored in the settings ("hanging_protocols", JSON), edited with
View › Hanging protocols…, applied once to every series that opens (layout, window preset, slab,
3D preset), before the reader changes anything.

None apply until the reader has saved protocols: the editor then opens with suggested ones (chest
CT in 2×2 with the lung window and the lung 3D preset, head CT, other CT, MR, radiographs) to
accept or change. A viewer that rearranges itself unasked would surprise readers used to it.

    hanging = install_hanging_protocols(window)   # after the window's own signal connections
    hanging.last_applied                           # the protocol used for the open series
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog

from viewer.core.hanging_protocols import (
    DEFAULT_PROTOCOLS,
    HangingProtocol,
    body_text,
    choose,
    from_json,
    to_json,
)

if TYPE_CHECKING:
    from viewer.ui.main_window import MainWindow

SETTINGS_KEY = "hanging_protocols"
_SLAB_BOX_TEXT = {"": "Single slice", "mip": "MIP", "minip": "MinIP", "mean": "Average"}


def load_protocols(settings: QSettings) -> list[HangingProtocol]:
    """The stored protocols; none until the reader has saved some in the editor."""
    text = settings.value(SETTINGS_KEY, None)
    return [] if text is None else from_json(str(text))


def protocols_to_edit(settings: QSettings) -> list[HangingProtocol]:
    """What the editor starts from: the stored protocols, or the suggested defaults."""
    return load_protocols(settings) if settings.contains(SETTINGS_KEY) else list(DEFAULT_PROTOCOLS)


def save_protocols(settings: QSettings, protocols: list[HangingProtocol]) -> None:
    settings.setValue(SETTINGS_KEY, to_json(protocols))
    settings.sync()


class HangingProtocols(QObject):
    """Applies the matching protocol when a new series shows its first slices."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.last_applied: HangingProtocol | None = None
        self._applied_to: tuple[int, tuple[int, ...]] | None = None  # (SeriesRecord id, grid shape)
        self.action = QAction("Hanging protocols…", window)
        self.action.setToolTip("Layout, window, slab and 3D preset per modality and body part")
        self.action.triggered.connect(self.edit)
        window.model.volume_changed.connect(self._on_volume)
        window.model.loaded.connect(self._on_loaded)

    def protocols(self) -> list[HangingProtocol]:
        return load_protocols(self.window.settings)

    def edit(self) -> QDialog:
        """Open the editor (not modal: never blocks the window); OK stores the table."""
        from viewer.ui.hanging_protocol_dialog import HangingProtocolDialog

        dialog = HangingProtocolDialog(protocols_to_edit(self.window.settings), self.window)
        dialog.accepted.connect(lambda: save_protocols(self.window.settings, dialog.protocols()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.show()
        return dialog

    def _on_volume(self) -> None:
        series, volume = self.window.series, self.window.model.volume
        if volume is None or series is None:
            return
        key = (id(series), volume.shape)  # a loaded grid unlike the first guess is shown afresh
        if key == self._applied_to:
            return
        self._applied_to = key
        d = series.descriptor
        text = body_text(d.body_part_examined, d.series_description, d.study_description)
        protocol = choose(self.protocols(), volume.modality, text)
        self.last_applied = protocol
        if protocol is not None:
            self.apply(protocol)

    def _on_loaded(self) -> None:
        """The complete series replaces the first guess, whose window then returns to the file's
        own unless the reader changed it: the protocol's window is set again in that case."""
        model, protocol = self.window.model, self.last_applied
        if protocol is None or not protocol.window or model.volume is None:
            return
        if model.window == model.initial_window(model.volume):
            with contextlib.suppress(KeyError):
                model.apply_named_preset(protocol.window)

    def apply(self, protocol: HangingProtocol) -> None:
        window = self.window
        window.set_layout(protocol.layout)
        if protocol.window:
            with contextlib.suppress(KeyError):  # e.g. a CT preset for an MR series: its own window
                window.model.apply_named_preset(protocol.window)
        window.slab_mm.setValue(protocol.slab_mm)
        window.slab_box.setCurrentText(_SLAB_BOX_TEXT[protocol.slab_mode])
        view_3d = window.grid.view_3d
        if protocol.volume_preset and hasattr(view_3d, "set_preset"):
            view_3d.set_preset(protocol.volume_preset)


def install_hanging_protocols(window: MainWindow) -> HangingProtocols:
    """Add View › Hanging protocols… and apply the protocols to the series that open."""
    hanging = HangingProtocols(window)
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "") == "View":
            action.menu().addSeparator()
            action.menu().addAction(hanging.action)
    return hanging
