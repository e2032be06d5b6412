"""Fit a detector's box-size calibration on its validation split: ``python -m ai.training.box_size_fit
[--write]`` (fracture-radiograph).

Runs the shipped package's input path (the pipeline's ``prepare``, the ONNX session, ``postprocess``
with scale 1) on the validation radiographs, matches each annotated fracture box to the candidate whose
centre is nearest (within half the annotation's diagonal, any score), and takes per axis the median of
annotated ÷ predicted size: the scale :mod:`ai.box_size` applies. The median of the matched pairs, not a
search over scales for the best metric, so the validation boxes set one number per axis and nothing
else; the test split is not touched. ``--write`` writes ``box_size.json`` into the package; re-run the
operating-point calibration (``ai.training.fracture_export``'s ``calibrate``) and the test measurement
afterwards.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from ai.box_size import BOX_SIZE_FILE
from ai.datasets import Loaded, read_fracatlas, read_split_csv
from ai.pipelines.fracture import postprocess
from ai.pipelines.static_registry import get_pipeline
from ai.registry import ModelRegistry
from ai.runtime import get_session, run_batched
from ai.training.common import LABELLED, MODELS
from ai.validation.predict import image_input

NAME = "fracture-radiograph"


def validation_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """(predicted boxes (K, 4), annotated boxes (M, 4)) in input pixels per validation radiograph."""
    package = ModelRegistry().load(NAME)
    pipeline, session = get_pipeline(package), get_session(package.onnx_path)
    split = read_split_csv(MODELS / NAME / "split.csv")
    pairs = []
    for record in read_fracatlas(LABELLED / "fracatlas"):
        if split.get(record.id) != "val":
            continue
        loaded = record.load()
        image = image_input(Loaded(array=loaded.array, spacing=(1.0, 1.0), has_geometry=False), "DX")
        prepared = pipeline.prepare(image, package)
        outputs = run_batched(session, prepared.inputs).outputs
        result = postprocess(outputs, prepared.context["letterbox"])  # scale 1: what the network drew
        pairs.append((result.boxes, np.asarray(record.boxes, np.float32).reshape(-1, 4)))
    return pairs


def size_ratios(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """(n, 2) annotated ÷ predicted (width, height) for each annotation with a candidate centred on it."""
    ratios = []
    for predicted, annotated in pairs:
        if len(predicted) == 0:
            continue
        centres = (predicted[:, :2] + predicted[:, 2:]) / 2
        sizes = predicted[:, 2:] - predicted[:, :2]
        for box in annotated:
            distance = np.linalg.norm(centres - (box[:2] + box[2:]) / 2, axis=1)
            k = int(distance.argmin())
            if distance[k] < 0.5 * np.linalg.norm(box[2:] - box[:2]) and (sizes[k] > 0).all():
                ratios.append((box[2:] - box[:2]) / sizes[k])
    return np.asarray(ratios, np.float64).reshape(-1, 2)


def fit() -> dict:
    ratios = size_ratios(validation_pairs())
    scale = np.median(ratios, axis=0)
    return {
        "scale": [round(float(scale[0]), 4), round(float(scale[1]), 4)],
        "calibration": f"median annotated ÷ predicted width and height over {len(ratios)} validation "
        "fracture boxes matched to the candidate centred nearest them (ai.training.box_size_fit)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {BOX_SIZE_FILE} into the package")
    args = parser.parse_args()
    result = fit()
    print(json.dumps(result, indent=2))
    if args.write:
        (MODELS / NAME / BOX_SIZE_FILE).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
