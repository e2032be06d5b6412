"""Where RadSight keeps its data: the study database, the managed DICOM store, the feedback
database and the audit log all live in one data folder.

The folder is ``$RADSIGHT_HOME`` when set, else ``$RADSIGHT_DATA_DIR`` (the older name, still
honoured), else the platform's per-user data folder for the app "RadSight" (platformdirs).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "RadSight"
ENV_HOME = "RADSIGHT_HOME"
ENV_DATA_DIR = "RADSIGHT_DATA_DIR"


def data_dir() -> Path:
    """RadSight's data folder (not created here)."""
    for name in (ENV_HOME, ENV_DATA_DIR):
        override = os.environ.get(name)
        if override:
            return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))
