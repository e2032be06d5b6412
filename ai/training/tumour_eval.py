"""Export the trained tumour model to ONNX and measure it once on the held-out test split.

``python -m ai.training.tumour_eval`` (after ``python -m ai.training.tumour``): loads the best
validation checkpoint, exports ``model.onnx`` (outputs ``logits``, ``cam``, ``box``), runs the shipped
pipeline (onnxruntime) on every test slice, computes metrics with 95 % bootstrap CIs, writes the package.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch

from ai.datasets import TUMOUR_CLASSES, read_brain_tumor, read_split_csv
from ai.training.common import LABELLED, MODELS, WORK, bootstrap_ci, export_onnx, save_json, setup
from ai.training.evaluate import (
    exported_package,
    latency_ms,
    positive_map,
    product_session,
    run_record,
    xy_box,
)
from ai.training.tumour import NAME, SIZE
from ai.training.tumour_model import TumourExport, TumourNet

log = logging.getLogger("radsight.train")


def export(onnx_path: Path) -> None:
    net = TumourNet(len(TUMOUR_CLASSES), SIZE)
    net.load_state_dict(torch.load(WORK / NAME / "best.pt"))
    export_onnx(TumourExport(net), torch.rand(1, 1, SIZE, SIZE), onnx_path, ["logits", "cam", "box"])


def box_iou(a: tuple, b: tuple) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def peak_in_box(cam: np.ndarray, box: tuple) -> bool:
    row, col = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return box[0] <= col + 0.5 <= box[2] and box[1] <= row + 0.5 <= box[3]


def run(package, session, rec) -> tuple[str, dict[str, float], tuple, np.ndarray]:
    """The product's pipeline on one slice: type, probabilities, box, the type's map."""
    result = run_record(package, session, rec.path, "MR")
    (finding,) = result.findings
    return finding.label, result.probabilities, xy_box(finding), positive_map(result, finding)


def evaluate(package, session, records: list) -> dict[str, np.ndarray]:
    """Per-case arrays over ``records``: truth, prediction, IoU, CAM peak hit."""
    truth, pred, ious, hits = [], [], [], []
    for rec in records:
        label, _, box, cam = run(package, session, rec)
        truth.append(rec.label_index)
        pred.append(package.labels.index(label))
        ious.append(box_iou(box, rec.boxes[0]))
        hits.append(peak_in_box(cam, rec.boxes[0]))
    return {"truth": np.array(truth), "pred": np.array(pred), "iou": np.array(ious), "hit": np.array(hits)}


def metrics_of(arr: dict[str, np.ndarray]) -> dict[str, dict]:
    t, p = arr["truth"], arr["pred"]
    out = {
        "accuracy": bootstrap_ci(lambda a, b: float((a == b).mean()), t, p),
        "iou50_recall": bootstrap_ci(lambda i: float((i >= 0.5).mean()), arr["iou"]),
        "mean_iou": bootstrap_ci(lambda i: float(i.mean()), arr["iou"]),
        "cam_in_box": bootstrap_ci(lambda h: float(h.mean()), arr["hit"]),
    }
    for k, name in enumerate(TUMOUR_CLASSES):
        sel = t == k
        out[f"sensitivity_{name}"] = bootstrap_ci(lambda a, b: float((a == b).mean()), t[sel], p[sel])
        out[f"iou50_recall_{name}"] = bootstrap_ci(lambda i: float((i >= 0.5).mean()), arr["iou"][sel])
        out[f"cam_in_box_{name}"] = bootstrap_ci(lambda h: float(h.mean()), arr["hit"][sel])
    return out


def subset_check(package, session, records: list, per_class: int = 4) -> dict:
    """Per-case outputs on a fixed small test subset (first ids of each type), for the pipeline test."""
    chosen = [r for k in range(len(TUMOUR_CLASSES))
              for r in [x for x in records if x.label_index == k][:per_class]]
    cases = []
    for rec in chosen:
        label, probabilities, box, cam = run(package, session, rec)
        cases.append({"id": rec.id, "label": rec.label, "predicted": label,
                      "probability": round(probabilities[label], 5),
                      "box": [round(v, 2) for v in box], "iou": round(box_iou(box, rec.boxes[0]), 4),
                      "cam_in_box": bool(peak_in_box(cam, rec.boxes[0]))})
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
    records = read_brain_tumor(LABELLED / "brain-tumor-mri")
    splits = read_split_csv(MODELS / NAME / "split.csv")
    report = {}
    for split in ("val",) if args.val_only else ("val", "test"):
        subset = [r for r in records if splits[r.id] == split]
        arr = evaluate(package, session, subset)
        report[split] = metrics_of(arr)
        cm = np.zeros((3, 3), int)
        np.add.at(cm, (arr["truth"], arr["pred"]), 1)
        report[f"{split}_confusion"] = cm.tolist()
        log.info("%s %s", split, json.dumps(report[split]))
    if args.val_only:
        return
    save_json(out_dir / "subset_check.json", subset_check(package, session, subset))
    report["latency_slice_ms"] = latency_ms(lambda: run(package, session, records[0]))
    report["onnx_mb"] = round(onnx_path.stat().st_size / 2**20, 2)
    save_json(out_dir / "metrics.json", report)
    log.info("latency %s size %s MB", report["latency_slice_ms"], report["onnx_mb"])


if __name__ == "__main__":
    main()
