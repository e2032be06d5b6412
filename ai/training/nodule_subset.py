"""The nodule card's fixed subset: ``python -m ai.training.nodule_subset`` writes ``subset_check.json``
(the first 8 test crops, each lesion-centred patch's score as ``radsight validate``'s crop mode computes
it with the shipped package), which ``tests/ai/test_validate_cli.py`` compares validate against."""

from __future__ import annotations

import json

import numpy as np

from ai.datasets import read_lidc_vois, read_split_csv
from ai.package import load_package
from ai.pipelines.nodule_patches import PatchSpec
from ai.runtime import get_session
from ai.training.common import LABELLED, MODELS
from ai.validation.nodule_crops import crop_scores

NAME = "nodule-ct"


def main(n: int = 8) -> None:
    package = load_package(MODELS / NAME)
    splits = read_split_csv(MODELS / NAME / "split.csv")
    records = [r for r in read_lidc_vois(LABELLED / "lidc-nodule-vois") if splits.get(r.id) == "test"][:n]
    spec, session = PatchSpec.of(package), get_session(package.onnx_path).session
    cases = []
    for record in records:
        points, scores, radius = crop_scores(spec, session, record)
        cases.append({"id": record.id, "centre_zyx_1mm": np.round(points[0], 3).tolist(),
                      "diameter_mm": round(2 * radius * spec.spacing_mm, 4),
                      "score": round(float(scores[0]), 6)})
    path = MODELS / NAME / "subset_check.json"
    path.write_text(json.dumps({"split": "test", "cases": cases}, indent=2) + "\n")


if __name__ == "__main__":
    main()
