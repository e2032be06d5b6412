"""View › Cine speed: frames per second for cine in every slice view, remembered in the settings.

    install_cine_speed(view_menu, window.grid.views.values(), window.settings)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

SPEEDS = (5, 10, 15, 25, 40)
SETTING = "cine/fps"


def install_cine_speed(menu: QMenu, views: Iterable[Any], settings: QSettings) -> dict[int, QAction]:
    """Add the "Cine speed" submenu; returns fps → its (checkable) action."""
    views = list(views)
    submenu = menu.addMenu("Cine speed")
    group = QActionGroup(submenu)
    saved = int(settings.value(SETTING, 15))
    actions = {}

    def choose(fps: int) -> None:
        settings.setValue(SETTING, fps)
        for view in views:
            view.set_cine_fps(fps)

    for fps in SPEEDS:
        action = QAction(f"{fps} images/s", submenu, checkable=True)
        action.triggered.connect(lambda _=False, f=fps: choose(f))
        group.addAction(action)
        submenu.addAction(action)
        actions[fps] = action
    fps = saved if saved in SPEEDS else 15
    actions[fps].setChecked(True)
    for view in views:
        view.set_cine_fps(fps)
    return actions
