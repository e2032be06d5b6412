"""Cross-fed check of a model's out-of-distribution guard through the product pipeline.

``python -m ai.training.ood_check tumour-mri|fracture-radiograph OUT.json [N per set]``: runs the shipped
package
(:func:`ai.analysis.run_pipeline`, the path ``analyze`` and the viewer use) on real images from
``../shared/data`` — its own test split (should be scored) and other kinds of image declared as the
model's modality (should be refused) — and writes the share refused per set."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ai.analysis import run_pipeline
from ai.datasets import read_br35h, read_brain_tumor, read_fracatlas, read_split_csv
from ai.image import ImageInput
from ai.registry import ModelRegistry
from ai.training.common import DATA, LABELLED, MODELS
from ai.validation.predict import image_input, is_not_scored

Source = tuple[str, str, list]  # (set name, role, list of (id, array))


def _test_split(records: list, split_file: Path, step: int) -> list:
    split = read_split_csv(split_file)
    return [r for r in records if split.get(r.id) == "test"][::step]


def _arrays(records: list) -> Iterator[tuple[str, np.ndarray]]:
    for r in records:
        yield r.id, r.load().array


def dicom_slices(folder: Path, step: int) -> Iterator[tuple[str, np.ndarray]]:
    """Stored pixel values of every ``step``-th DICOM file (sorted by name) in ``folder``."""
    import pydicom

    for path in sorted(folder.glob("*.dcm"))[::step]:
        yield path.stem, pydicom.dcmread(path).pixel_array


def sources(model: str) -> list[tuple[str, str, Iterator]]:
    """(set name, expected: "scored" | "refused" | "either", images) for ``model``."""
    brain = _test_split(
        read_brain_tumor(LABELLED / "brain-tumor-mri"), MODELS / "tumour-mri" / "split.csv", 5
    )
    br35h = _test_split(read_br35h(LABELLED / "br35h"), MODELS / "tumour-mri" / "split_br35h.csv", 1)
    frac = _test_split(
        read_fracatlas(LABELLED / "fracatlas"), MODELS / "fracture-radiograph" / "split.csv", 3
    )
    ct = (
        "LIDC-IDRI-0314 chest CT slices (every 25th)",
        "refused",
        dicom_slices(DATA / "dicom" / "lidc-idri-0314" / "series", 25),
    )
    head_ct = (
        "GE head CT slices (every 4th)",
        "refused",
        dicom_slices(DATA / "dicom" / "ge-head-ct-gantry-tilt" / "series", 4),
    )
    if model == "tumour-mri":
        return [
            ("brain-tumor-mri test split (every 5th)", "scored", _arrays(brain)),
            ("Br35H test split", "scored", _arrays(br35h)),
            ("FracAtlas radiographs, test split (every 3rd)", "refused", _arrays(frac)),
            ct,
            head_ct,
            (
                "GE brain MR, other sequence (ge-brain-mr-20)",
                "either",
                dicom_slices(DATA / "dicom" / "ge-brain-mr-20" / "series", 1),
            ),
        ]
    return [
        ("FracAtlas test split (every 3rd)", "scored", _arrays(frac)),
        ("brain-tumor-mri test split (every 5th)", "refused", _arrays(brain)),
        ("Br35H test split", "refused", _arrays(br35h)),
        ct,
        head_ct,
    ]


def check(model: str, limit: int | None = None) -> dict:
    package = ModelRegistry().load(model)
    modality = package.scope.modalities[-1]
    out = {"model": model, "version": package.version, "declared_modality": modality, "sets": []}
    for name, expected, images in sources(model):
        refused = []
        for k, (_, array) in enumerate(images):
            if limit is not None and k >= limit:
                break
            image: ImageInput = image_input(_loaded(array), modality)
            refused.append(is_not_scored(run_pipeline(package, image, check_scope=False)))
        out["sets"].append(
            {
                "set": name,
                "expected": expected,
                "n": len(refused),
                "refused": int(sum(refused)),
                "refused_rate": round(float(np.mean(refused)), 4),
            }
        )
        print(out["sets"][-1], flush=True)
    return out


def _loaded(array: np.ndarray):
    from ai.datasets import Loaded

    return Loaded(array=array, spacing=(1.0, 1.0), has_geometry=False)


def main() -> None:
    model, target = sys.argv[1], Path(sys.argv[2])
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else None  # images per set (a quick look)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(check(model, limit), indent=2) + "\n")


if __name__ == "__main__":
    main()
