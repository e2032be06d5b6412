"""Out-of-distribution guard: is this input like the images the model was trained on?

A model that ships ``ood.json`` next to ``model.json`` has an ONNX output (``output``, default
``ood_distance``) giving, per input, the Mahalanobis distance of its pooled frozen backbone features to
the training images (see :mod:`ai.training.ood_fit`). Inputs farther than ``threshold`` (a quantile
of the validation images' distances) are not scored: the pipeline reports "not scored: does not look
like <expects>" and no finding.

``ood.json``: ``{"output": "ood_distance", "threshold": 31.4, "expects": "a brain MRI slice",
"calibration": "99th percentile of 468 validation slices", "measured": {...}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OOD_FILE = "ood.json"


@dataclass(frozen=True)
class OodGuard:
    output: str
    threshold: float
    expects: str


@dataclass(frozen=True)
class OodVerdict:
    distance: float
    threshold: float
    refused: bool
    message: str


def load_guard(directory: Path | None) -> OodGuard | None:
    """The guard of the package in ``directory`` (None when the package ships none)."""
    if directory is None or not (Path(directory) / OOD_FILE).is_file():
        return None
    data = json.loads((Path(directory) / OOD_FILE).read_text())
    return OodGuard(str(data.get("output", "ood_distance")), float(data["threshold"]), str(data["expects"]))


def verdict(guard: OodGuard | None, outputs: dict[str, np.ndarray], index: int = 0) -> OodVerdict | None:
    """Apply ``guard`` to one input's outputs (None without a guard or without the output)."""
    if guard is None or guard.output not in outputs:
        return None
    distance = float(np.asarray(outputs[guard.output]).reshape(-1)[index])
    refused = not np.isfinite(distance) or distance > guard.threshold
    message = (
        (
            f"not scored: does not look like {guard.expects} (distance {distance:.1f} to the training "
            f"images > {guard.threshold:.1f})"
        )
        if refused
        else ""
    )
    return OodVerdict(distance, guard.threshold, refused, message)
