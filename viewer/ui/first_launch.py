"""First launch: the bundled sample study opens, the AI runs on it, and a "How to read this"
panel explains what is on screen. Later launches open what the user asks for (the sample without
re-running the AI when nothing is given); Help › How to read this shows the panel again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTextBrowser

if TYPE_CHECKING:
    from viewer.ui.main_window import MainWindow

SETTING = "first_launch/done"
HOW_TO_READ = """\
### How to read this — not for diagnostic use

**What you see**: a public sample chest CT (LIDC-IDRI case 0314, 47 slices) with one lung
nodule that four radiologists outlined. RadSight's AI has analysed it on this computer; no image
leaves it.

**Findings** (panel below the images): each has a **score** from 0 to 1 and the model's
**operating point**. A **red** box scored above the operating point, a **yellow** one below it.
A score is not the probability of disease.

**Heat map**: where the model looked when it scored a finding (its explanation), not the outline
of a lesion. **H** turns it on and off; the colour bar shows the scale.

**Click a finding** to jump to it in every view; **Accept / Reject / Unsure** records your verdict
(kept in a local database). **Add missed finding** marks what the AI did not find.

**Limits**: every model was trained on small public data sets; its measured sensitivity,
specificity and known failures are in **Help › Model cards**. Open your own studies with
**File › Open folder** (Ctrl+O); run the AI with **Analyze** (Ctrl+A).
"""


def how_to_read_dock(window: QMainWindow) -> QDockWidget:
    """The "How to read this" panel (made once per window, docked on the right)."""
    dock = window.findChild(QDockWidget, "dock-how-to-read")
    if dock is None:
        dock = QDockWidget("How to read this", window)
        dock.setObjectName("dock-how-to-read")
        text = QTextBrowser(dock)
        text.setOpenExternalLinks(False)
        text.setMarkdown(HOW_TO_READ)
        dock.setWidget(text)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        measurements = window.findChild(QDockWidget, "dock-measurements")
        if measurements is not None:  # a tab over the (still empty) measurements: full height
            window.tabifyDockWidget(measurements, dock)
    dock.show()
    dock.raise_()
    return dock


class FirstLaunch(QObject):
    """Opens the sample and starts Analyze once it has loaded completely."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.analysis_started = False

    @staticmethod
    def is_first(window: MainWindow) -> bool:
        return not window.settings.value(SETTING, False, type=bool)

    def start(self, sample: Path) -> None:
        how_to_read_dock(self.window)
        self.window.model.data_changed.connect(self._analyse_when_loaded)
        self.window.open_path(sample)
        self.window.settings.setValue(SETTING, True)

    def _analyse_when_loaded(self) -> None:
        window = self.window
        if self.analysis_started or not window.model.complete or window.result is None:
            return
        self.analysis_started = window.ai.analyze()
        if self.analysis_started:
            window.model.data_changed.disconnect(self._analyse_when_loaded)


def open_at_start(window: MainWindow, path: Path | None, sample: Path) -> FirstLaunch | None:
    """What the viewer opens when it starts: ``path``; with none, the sample (first launch:
    with its AI findings and the "How to read this" panel)."""
    if path is not None:
        window.open_path(path)
        return None
    if not sample.exists():
        return None
    if FirstLaunch.is_first(window):
        first = FirstLaunch(window)
        first.start(sample)
        return first
    window.open_path(sample)
    return None
