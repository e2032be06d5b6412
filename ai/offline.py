"""Telemetry of every dependency off, set in the environment before the dependency is imported.

``ai/__init__.py`` and ``viewer/__init__.py`` call :func:`switch_off_telemetry` first thing, so it
holds for the CLI, the viewer, tests and the PyInstaller bundle alike.
"""

from __future__ import annotations

import os

#: Environment settings that keep dependencies from phoning home (values forced, not defaulted).
TELEMETRY_OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime: no telemetry thread, no ~/.cache/Microsoft device id
    "DO_NOT_TRACK": "1",  # the cross-tool convention (honoured by e.g. Hugging Face libraries)
    "HF_HUB_OFFLINE": "1",  # never look up model weights online (no download at run time)
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def switch_off_telemetry() -> None:
    """Put :data:`TELEMETRY_OFF` into ``os.environ``."""
    os.environ.update(TELEMETRY_OFF)
