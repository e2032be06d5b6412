"""Export the trained fracture model and measure it once on the held-out test split.

``python -m ai.training.fracture_eval`` after ``python -m ai.training.fracture``. The operating point
is chosen on validation (highest threshold with validation sensitivity ≥ 0.85); test is touched once.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch

from ai.datasets import REGIONS, read_fracatlas, read_split_csv
from ai.training.common import LABELLED, MODELS, WORK, bootstrap_ci, export_onnx, roc_auc, save_json, setup
from ai.training.evaluate import (
    exported_package,
    latency_ms,
    positive_map,
    product_session,
    run_record,
    xy_box,
)
from ai.training.fracture import NAME
from ai.training.fracture_model import FractureExport, FractureNet

log = logging.getLogger("radsight.train")
VAL_SENSITIVITY = 0.85


SIZE = 320  # the model's input side (model.json input.size)


def export(onnx_path: Path) -> None:
    net = FractureNet(SIZE)
    net.load_state_dict(torch.load(WORK / NAME / "best.pt"))
    export_onnx(FractureExport(net), torch.rand(1, 1, SIZE, SIZE), onnx_path, ["logits", "cam"])


def run(package, session, rec) -> tuple[float, np.ndarray, tuple]:
    """The product's pipeline on one record: fracture probability, its map, its box."""
    result = run_record(package, session, rec.path, "DX")
    (finding,) = result.findings
    return result.probabilities[package.labels[-1]], positive_map(result, finding), xy_box(finding)


def in_any_box(cam: np.ndarray, boxes: tuple) -> bool:
    row, col = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return any(b[0] <= col + 0.5 <= b[2] and b[1] <= row + 0.5 <= b[3] for b in boxes)


def evaluate(package, session, records: list) -> dict[str, np.ndarray]:
    scores, truth, hits = [], [], []
    for rec in records:
        probability, cam, _ = run(package, session, rec)
        scores.append(probability)
        truth.append(rec.label_index)
        hits.append(in_any_box(cam, rec.boxes) if rec.boxes else np.nan)
    return {"score": np.array(scores), "truth": np.array(truth), "hit": np.array(hits, float)}


def pick_threshold(y: np.ndarray, s: np.ndarray) -> float:
    pos = np.sort(s[y == 1])
    return float(pos[int(np.floor((1 - VAL_SENSITIVITY) * len(pos)))])


def binary_metrics(y: np.ndarray, s: np.ndarray, t: float) -> dict[str, dict]:
    def sens(a, b):
        return float((b[a == 1] >= t).mean()) if (a == 1).any() else np.nan

    def spec(a, b):
        return float((b[a == 0] < t).mean()) if (a == 0).any() else np.nan

    def ppv(a, b):
        called = b >= t
        return float(a[called].mean()) if called.any() else np.nan

    def acc(a, b):
        return float(((b >= t) == (a == 1)).mean())

    out = {"auc": bootstrap_ci(roc_auc, y, s)} if 0 < y.sum() < len(y) else {}
    for name, fn in (("sensitivity", sens), ("specificity", spec), ("ppv", ppv), ("accuracy", acc)):
        out[name] = bootstrap_ci(fn, y, s)
    counts = {"sensitivity": int((y == 1).sum()), "specificity": int((y == 0).sum()),
              "ppv": int((s >= t).sum())}
    for name, n in counts.items():
        out[name]["n"] = n  # the cases the rate is computed over (bootstrap resamples all cases)
    return out


def report_for(arr: dict[str, np.ndarray], records: list, t: float) -> dict:
    y, s = arr["truth"], arr["score"]
    out = {"overall": binary_metrics(y, s, t)}
    hits = arr["hit"][~np.isnan(arr["hit"])]
    out["overall"]["cam_in_box"] = bootstrap_ci(lambda h: float(h.mean()), hits)
    for region in REGIONS:
        sel = np.array([region in r.regions for r in records])
        out[region] = binary_metrics(y[sel], s[sel], t) if sel.any() else {}
    return out


def subset_check(package, session, records: list, n: int = 6) -> dict:
    """Per-case outputs on a fixed small test subset (first fractured-with-box and normal ids)."""
    chosen = [r for r in records if r.boxes][:n] + [r for r in records if r.label_index == 0][:n]
    cases = []
    for rec in chosen:
        probability, cam, box = run(package, session, rec)
        cases.append({"id": rec.id, "label": rec.label, "probability": round(probability, 5),
                      "cam_in_box": bool(in_any_box(cam, rec.boxes)) if rec.boxes else None,
                      "box": [round(v, 2) for v in box]})
    return {"split": "test", "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--val-only", action="store_true", help="measure the validation split only")
    args = parser.parse_args()
    setup(NAME)
    out_dir = WORK / NAME / "export"
    onnx_path = out_dir / "model.onnx"
    export(onnx_path)
    package, session = exported_package(NAME, onnx_path), product_session(onnx_path)
    records = read_fracatlas(LABELLED / "fracatlas")
    splits = read_split_csv(MODELS / NAME / "split.csv")
    val = [r for r in records if splits[r.id] == "val"]
    test = [r for r in records if splits[r.id] == "test"]
    va = evaluate(package, session, val)
    t = pick_threshold(va["truth"], va["score"])
    report = {"threshold": t, "val": report_for(va, val, t)}
    log.info("val %s", json.dumps(report["val"]["overall"]))
    if args.val_only:
        return
    te = evaluate(package, session, test)
    report["test"] = report_for(te, test, t)
    log.info("test %s", json.dumps(report["test"]["overall"]))
    save_json(out_dir / "subset_check.json", subset_check(package, session, test))
    report["latency_image_ms"] = latency_ms(lambda: run(package, session, test[0]))
    report["onnx_mb"] = round(onnx_path.stat().st_size / 2**20, 2)
    save_json(out_dir / "metrics.json", report)


if __name__ == "__main__":
    main()
