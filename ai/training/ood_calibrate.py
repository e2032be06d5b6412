"""Place a shipped model's out-of-distribution threshold in the gap between its own validation images and
other kinds of validation image, measured through the product pipeline's input path.

``python -m ai.training.ood_calibrate tumour-mri|fracture-radiograph [--write]``

The threshold fitted with the model (:func:`ai.training.ood_fit.threshold`) is the 99th percentile of the
in-distribution validation distances: by construction about 1 % of slices like the training data are
refused, and more on a test split that drifts a little (Br35H test: 5.7 %, mostly tumours). Here the
threshold is set, on validation data only, to the geometric middle of the gap between

* ``inside``: the ``INSIDE_QUANTILE`` of the model's own validation images' distances, and
* ``outside``: the ``OUTSIDE_QUANTILE`` of *validation* images of the kinds the guard must refuse
  (the other models' validation splits, and chest CT slices of LIDC-IDRI-0001/0003 — never the sets
  :mod:`ai.training.ood_check` reports on: test splits, LIDC-IDRI-0314, the GE head CT).

Where there is no gap (``outside`` ≤ ``inside``) the 99 % rule stays and the script says so. Each distance
is the ONNX output ``ood_distance`` for the array the product's pipeline prepares (``prepare``), so the
threshold applies to exactly what the viewer and ``radsight analyze`` compute. ``--write`` updates
``ood.json`` (threshold and calibration text); re-run ``ai.training.ood_check`` and the validation
afterwards: the card's measured numbers come from there.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator

import numpy as np

from ai.datasets import Loaded, read_br35h, read_brain_tumor, read_fracatlas, read_split_csv
from ai.ood import OOD_FILE, load_guard
from ai.package import ModelPackage
from ai.pipelines.static_registry import get_pipeline
from ai.registry import ModelRegistry
from ai.runtime import get_session, run_batched
from ai.training.common import DATA, LABELLED, MODELS
from ai.training.ood_check import dicom_slices
from ai.validation.predict import image_input

INSIDE_QUANTILE = 0.995
OUTSIDE_QUANTILE = 0.005
CT_SCANS = ("lidc-idri-0001", "lidc-idri-0003")  # validation-only CT: ood_check reports on 0314
CT_STEP = 10


def _validation(records: list, split_model: str, split_file: str = "split.csv") -> list:
    split = read_split_csv(MODELS / split_model / split_file)
    return [r for r in records if split.get(r.id) == "val"]


def _arrays(records: Iterable) -> Iterator[np.ndarray]:
    for record in records:
        yield record.load().array


def _ct_slices() -> Iterator[np.ndarray]:
    for scan in CT_SCANS:
        for _, array in dicom_slices(DATA / "dicom" / scan / "series", CT_STEP):
            yield array


def validation_sets(model: str) -> dict[str, tuple[str, Iterator[np.ndarray]]]:
    """Set name → ("inside" | "outside", images) for ``model``: validation images only."""
    brain = _validation(read_brain_tumor(LABELLED / "brain-tumor-mri"), "tumour-mri")
    br35h = _validation(read_br35h(LABELLED / "br35h"), "tumour-mri", "split_br35h.csv")
    frac = _validation(read_fracatlas(LABELLED / "fracatlas"), "fracture-radiograph")
    ct = ("outside", _ct_slices())
    if model == "tumour-mri":
        return {
            "brain-tumor-mri validation": ("inside", _arrays(brain)),
            "Br35H validation": ("inside", _arrays(br35h)),
            "FracAtlas validation": ("outside", _arrays(frac)),
            f"chest CT {', '.join(CT_SCANS)} (every {CT_STEP}th slice)": ct,
        }
    return {
        "FracAtlas validation": ("inside", _arrays(frac)),
        "brain-tumor-mri validation": ("outside", _arrays(brain)),
        "Br35H validation": ("outside", _arrays(br35h)),
        f"chest CT {', '.join(CT_SCANS)} (every {CT_STEP}th slice)": ct,
    }


def distances(package: ModelPackage, arrays: Iterable[np.ndarray]) -> np.ndarray:
    """``ood_distance`` of each array as the product pipeline prepares it for ``package``."""
    pipeline, session = get_pipeline(package), get_session(package.onnx_path)
    guard = load_guard(package.directory)
    modality = package.scope.modalities[-1]
    out = []
    for array in arrays:
        image = image_input(Loaded(array=array, spacing=(1.0, 1.0), has_geometry=False), modality)
        prepared = pipeline.prepare(image, package)
        outputs = run_batched(session, prepared.inputs, output_names=[guard.output]).outputs
        out.append(float(np.asarray(outputs[guard.output]).reshape(-1)[0]))
    return np.asarray(out)


def gap_threshold(inside: np.ndarray, outside: np.ndarray) -> tuple[float, str]:
    """(threshold, how it was chosen) from in- and out-of-distribution validation distances."""
    low = float(np.quantile(inside, INSIDE_QUANTILE))
    high = float(np.quantile(outside, OUTSIDE_QUANTILE))
    if high <= low:
        return float(np.quantile(inside, 0.99)), (
            f"99% quantile of {len(inside)} validation images (no gap to the other kinds: "
            f"{OUTSIDE_QUANTILE:.1%} quantile {high:.1f} ≤ {INSIDE_QUANTILE:.1%} quantile {low:.1f})"
        )
    return float(np.sqrt(low * high)), (
        f"geometric middle of the gap between the {INSIDE_QUANTILE:.1%} quantile of {len(inside)} "
        f"validation images like the training data ({low:.1f}) and the {OUTSIDE_QUANTILE:.1%} quantile "
        f"of {len(outside)} validation images of other kinds ({high:.1f}; ai.training.ood_calibrate)"
    )


def calibrate(model: str) -> dict:
    package = ModelRegistry().load(model)
    measured: dict[str, dict] = {}
    pooled: dict[str, list[np.ndarray]] = {"inside": [], "outside": []}
    for name, (role, arrays) in validation_sets(model).items():
        d = distances(package, arrays)
        pooled[role].append(d)
        measured[name] = {"role": role, "n": len(d), **_quantiles(d)}
        print(name, measured[name], flush=True)
    threshold, how = gap_threshold(np.concatenate(pooled["inside"]), np.concatenate(pooled["outside"]))
    return {"threshold": round(threshold, 3), "calibration": how, "validation_distances": measured}


def _quantiles(d: np.ndarray) -> dict[str, float]:
    qs = {"min": 0.0, "q01": 0.01, "median": 0.5, "q99": 0.99, "max": 1.0}
    return {k: round(float(np.quantile(d, q)), 2) for k, q in qs.items()}


def place_threshold(model: str) -> dict:
    """Calibrate the package's guard (as written in ``resources/models/<model>``) and write ``ood.json``."""
    result = calibrate(model)
    path = MODELS / model / OOD_FILE
    ood = json.loads(path.read_text())
    ood.update(result)
    path.write_text(json.dumps(ood, indent=2) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=["tumour-mri", "fracture-radiograph"])
    parser.add_argument("--write", action="store_true", help="update the package's ood.json")
    args = parser.parse_args()
    result = place_threshold(args.model) if args.write else calibrate(args.model)
    print(json.dumps({k: result[k] for k in ("threshold", "calibration")}, indent=2))


if __name__ == "__main__":
    main()
