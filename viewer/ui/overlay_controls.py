"""Controls of the AI overlay: heat map on/off, opacity slider, which map (whole image or one
finding's), boxes on/off. Two-way: changes made elsewhere (a shortcut calling
``AIOverlay.toggle_heat``, a finding selected in the panel) show here.

    controls = OverlayControls(overlay)          # e.g. above the findings panel in its dock
    toggle = QAction("Heat map", window, shortcut="H", triggered=overlay.toggle_heat)
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

from viewer.ui.heatmap_overlay import AIOverlay

WHOLE_IMAGE_TEXT = "Whole image"
OPACITY_MAX_PX = 240


class OverlayControls(QWidget):
    """See the module docstring."""

    def __init__(self, overlay: AIOverlay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay = overlay
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.heat = QCheckBox("Heat map (H)", self)
        self.heat.toggled.connect(overlay.set_heat_visible)
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Heat map opacity")
        self.opacity.setMaximumWidth(OPACITY_MAX_PX)  # the map names get the room, never cut
        self.opacity.valueChanged.connect(lambda value: overlay.set_opacity(value / 100.0))
        self.map_choice = QComboBox(self)
        self.map_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.map_choice.setToolTip("Which explanation map is shown")
        self.map_choice.currentIndexChanged.connect(self._on_map_chosen)
        self.boxes = QCheckBox("Boxes", self)
        self.boxes.toggled.connect(overlay.set_boxes_visible)
        for widget in (self.heat, QLabel("Opacity", self), self.opacity):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(QLabel("Map", self))
        layout.addWidget(self.map_choice)
        layout.addWidget(self.boxes)
        overlay.changed.connect(self.sync)
        self.sync()

    def sync(self) -> None:
        """Show the overlay's state (without feeding it back)."""
        o = self.overlay
        widgets = (self.heat, self.opacity, self.map_choice, self.boxes)
        for widget in widgets:
            widget.blockSignals(True)
        self.heat.setChecked(o.heat_visible)
        self.opacity.setValue(round(o.opacity * 100))
        self.boxes.setChecked(o.boxes_visible)
        keys = [None, *o.maps]
        if [self.map_choice.itemData(i) for i in range(self.map_choice.count())] != keys:
            self.map_choice.clear()
            for key in keys:
                self.map_choice.addItem(WHOLE_IMAGE_TEXT if key is None else key, key)
        self.map_choice.setCurrentIndex(keys.index(o.map_key) if o.map_key in keys else 0)
        self.map_choice.setEnabled(len(keys) > 1)
        for widget in widgets:
            widget.blockSignals(False)

    def _on_map_chosen(self, index: int) -> None:
        if index >= 0:
            self.overlay.show_map(self.map_choice.itemData(index))
