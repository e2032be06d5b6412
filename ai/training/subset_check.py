"""A fixed small test subset run through the product pipeline, recorded per case for the tests
(``subset_check.json``: ``radsight validate`` on these ids must give the same answers)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ai.analysis import run_pipeline
from ai.datasets import read_brain_tumor, read_fracatlas, read_split_csv
from ai.registry import ModelRegistry
from ai.training.common import LABELLED, MODELS
from ai.validation.metrics import box_iou, peak_in_boxes
from ai.validation.predict import dataset_reader, is_not_scored


def _xy(box_kji: tuple) -> list[float]:
    return [box_kji[2], box_kji[1], box_kji[5], box_kji[4]]


def tumour_cases(per_type: int = 4) -> list[dict]:
    package = ModelRegistry().load("tumour-mri")
    split = read_split_csv(MODELS / "tumour-mri" / "split.csv")
    test = [r for r in read_brain_tumor(LABELLED / "brain-tumor-mri") if split[r.id] == "test"]
    cases = []
    for k in range(3):
        for rec in [r for r in test if r.label_index == k][:per_type]:
            result = run_pipeline(package, dataset_reader(rec.path, "MR"), check_scope=False)
            top = max(result.findings, key=lambda f: f.score, default=None)
            truth = np.asarray(rec.boxes, float)
            box = _xy(top.box_kji) if top else None
            heat = result.maps[top.explanation][0] if top else None
            cases.append(
                {
                    "id": rec.id,
                    "label": rec.label,
                    "predicted": top.label if top else "no tumour",
                    "presence": round(1 - result.probabilities.get("no tumour", 1.0), 5),
                    "iou": round(float(box_iou(np.array([box]), truth).max()), 4) if box else 0.0,
                    "cam_in_box": bool(peak_in_boxes(heat, truth)) if heat is not None else False,
                    "box": [round(v, 2) for v in box] if box else None,
                }
            )
    return cases


def fracture_cases(n: int = 6) -> list[dict]:
    package = ModelRegistry().load("fracture-radiograph")
    split = read_split_csv(MODELS / "fracture-radiograph" / "split.csv")
    test = [r for r in read_fracatlas(LABELLED / "fracatlas") if split[r.id] == "test"]
    chosen = [r for r in test if r.boxes][:n] + [r for r in test if r.label_index == 0][:n]
    cases = []
    for rec in chosen:
        result = run_pipeline(package, dataset_reader(rec.path, "DX"), check_scope=False)
        passing = [f for f in result.findings if f.passes_operating_point]
        truth = np.asarray(rec.boxes, float).reshape(-1, 4)
        top = max(result.findings, key=lambda f: f.score, default=None)
        heat = result.maps["fracture"][0] if "fracture" in result.maps else None
        hit = (
            bool(peak_in_boxes(heat, truth)) if heat is not None else False
        )  # no map: a miss, as in validate
        cases.append(
            {
                "id": rec.id,
                "label": rec.label,
                "probability": round(result.probabilities.get("fracture", 0.0), 5),
                "not_scored": is_not_scored(result),  # refused by the OOD guard: no probability, no box
                "cam_in_box": hit if len(truth) else None,
                "passing_boxes": [[round(v, 2) for v in _xy(f.box_kji)] for f in passing],
                "best_iou": round(float(box_iou(np.array([_xy(top.box_kji)]), truth).max()), 4)
                if top is not None and len(truth)
                else None,
            }
        )
    return cases


def write(model: str, cases: list[dict]) -> Path:
    path = MODELS / model / "subset_check.json"
    path.write_text(json.dumps({"split": "test", "cases": cases}, indent=2) + "\n")
    return path
