"""Box-size calibration shipped beside a detector: ``box_size.json`` in the model's folder.

A detector's size regression can be biased (fracture-radiograph 3.0.0 drew its boxes ~15-20 % smaller
than the annotated fractures on validation). The calibration is one scale per axis, the median ratio of
annotated to predicted width and height over validation boxes matched by centre
(:mod:`ai.training.box_size_fit`); the pipeline scales each decoded box about its centre.

``box_size.json``: ``{"scale": [1.14, 1.20], "calibration": "median ratio over 66 validation boxes …"}``.
No file: scale 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

BOX_SIZE_FILE = "box_size.json"


def load_box_scale(directory: Path | None) -> tuple[float, float]:
    """(width scale, height scale) of the package in ``directory``; (1, 1) without a calibration."""
    if directory is None or not (Path(directory) / BOX_SIZE_FILE).is_file():
        return 1.0, 1.0
    sw, sh = json.loads((Path(directory) / BOX_SIZE_FILE).read_text())["scale"]
    return float(sw), float(sh)


def scale_boxes(boxes: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """(K, 4) x0, y0, x1, y1 boxes scaled about their centres by (width scale, height scale)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * np.asarray(scale, np.float32)
    return np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)
