"""Export the nodule CNN and measure it: test patients' crops (once) and the full LIDC-0314 scan.

``python -m ai.training.nodule_eval`` after ``python -m ai.training.nodule``. The operating point is
the highest threshold keeping validation per-nodule sensitivity ≥ 0.90; LIDC-0314 is never trained on.
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from ai.analysis import run_pipeline
from ai.image import ImageInput
from ai.pipelines import nodule as pipe
from ai.training.common import DATA, WORK, bootstrap_ci, export_onnx, roc_auc, save_json, setup
from ai.training.evaluate import cpu_session, exported_package, product_session
from ai.training.nodule import NAME, load_crops
from ai.training.nodule_data import PATCH, extract, negative_centres
from ai.training.nodule_model import NoduleNet

log = logging.getLogger("radsight.train")
LIDC_0314 = DATA / "dicom" / "lidc-idri-0314"
VAL_SENSITIVITY = 0.90
NEG_DIAMETER_MM = 5.0  # typical equivalent diameter of a whole-scan candidate, for crop_like on negatives


def export(onnx_path: Path) -> None:
    net = NoduleNet()
    net.load_state_dict(torch.load(WORK / NAME / "best.pt"))
    export_onnx(net, torch.rand(1, 1, PATCH.patch, PATCH.patch, PATCH.patch), onnx_path, ["logits", "cam"])


def crop_scores(session, crops: list, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Centred-patch score per crop (positives) and scores of up to 4 negatives per crop, each patch cut
    by :func:`ai.pipelines.nodule.crop_like` as the whole-scan pipeline does."""
    rng = np.random.default_rng(seed)
    pos = np.stack([pipe.window(pipe.crop_like(extract(c.hu, c.centre), 2 * c.radius, PATCH), PATCH)
                    for c in crops])
    neg = np.stack([pipe.window(pipe.crop_like(extract(c.hu, n), NEG_DIAMETER_MM, PATCH), PATCH)
                    for c in crops for n in negative_centres(c, rng, 4)])
    return pipe.score(session, pos.astype(np.float32))[0], pipe.score(session, neg.astype(np.float32))[0]


def pick_threshold(pos: np.ndarray) -> float:
    """Highest threshold with sensitivity ≥ VAL_SENSITIVITY on validation positives."""
    return float(np.sort(pos)[int(np.floor((1 - VAL_SENSITIVITY) * len(pos)))])


def crop_metrics(pos: np.ndarray, neg: np.ndarray, crops: list, threshold: float) -> dict[str, dict]:
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    s = np.r_[pos, neg]
    small = np.array([c.diameter < 10 for c in crops])
    return {
        "lesion_sensitivity": bootstrap_ci(lambda p: float((p >= threshold).mean()), pos),
        "lesion_sensitivity_lt10mm": bootstrap_ci(lambda p: float((p >= threshold).mean()), pos[small]),
        "lesion_sensitivity_ge10mm": bootstrap_ci(lambda p: float((p >= threshold).mean()), pos[~small]),
        "patch_specificity": bootstrap_ci(lambda p: float((p < threshold).mean()), neg),
        "patch_auc": bootstrap_ci(roc_auc, y, s),
    }


def read_0314() -> tuple[sitk.Image, np.ndarray, float]:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(LIDC_0314 / "series")))
    img = reader.Execute()
    return img, *nodule_truth(img)


def nodule_truth(img: sitk.Image) -> tuple[np.ndarray, float]:
    """Physical centre (x, y, z) of the annotated nodule (mean over readers' contour points), radius mm."""
    points = []
    with (LIDC_0314 / "annotations" / "contours.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            for line in row["coords"].splitlines():
                col, r = (float(v) for v in line.split(","))
                x, y, _ = img.TransformContinuousIndexToPhysicalPoint((col, r, 0.0))
                points.append((x, y, float(row["image_z_position"])))
    pts = np.array(points)
    centre = pts.mean(0)
    radius = float(np.percentile(np.linalg.norm(pts - centre, axis=1), 90))
    return centre, radius


def with_threshold(package, threshold: float):
    """``package`` with its nodule operating point at ``threshold`` (the one just chosen on validation)."""
    point = package.operating_point("nodule")
    return replace(package, operating_points=(replace(point, threshold=threshold),))


def whole_scan(package, session) -> dict:
    """The product's pipeline (``run_pipeline``) on the whole LIDC-0314 scan."""
    img, centre, radius = read_0314()
    image = ImageInput(sitk.GetArrayFromImage(img).astype(np.int16), tuple(reversed(img.GetSpacing())),
                       img.GetOrigin(), np.array(img.GetDirection()).reshape(3, 3), modality="CT")
    t = time.perf_counter()
    result = run_pipeline(package, image, session=session)
    elapsed = time.perf_counter() - t
    threshold = package.operating_point("nodule").threshold
    hits = [_hit(f, centre, radius) for f in result.findings]
    passing = [f for f in result.findings if f.marked]
    found = any(h and f.marked for f, h in zip(result.findings, hits, strict=True))
    best_hit = max((f.score for f, h in zip(result.findings, hits, strict=True) if h), default=None)
    rank = next((i + 1 for i, h in enumerate(hits) if h), None)
    above = sum(1 for f, h in zip(result.findings, hits, strict=True) if f.score >= threshold and not h)
    cap = package.mark_rule(pipe.CAP_RULE)
    return {"found": found, "fp": sum(1 for f in passing if not _hit(f, centre, radius)),
            "n_candidates": len(result.findings), "nodule_score": best_hit, "nodule_rank": rank,
            "fp_threshold_only": above, "max_marks": None if cap is None else cap.limit,
            "seconds": round(elapsed, 2), "notes": result.notes,
            "truth_centre_mm": centre.round(1).tolist(), "truth_radius_mm": round(radius, 1),
            "findings": [{"score": round(f.score, 4), "centre_mm": np.round(f.center_mm, 1).tolist(),
                          "diameter_mm": round(f.size_mm[1], 1)} for f in passing],
            "top10": [{"score": round(f.score, 4), "hit": bool(h), "diameter_mm": round(f.size_mm[1], 1)}
                      for f, h in list(zip(result.findings, hits, strict=True))[:10]]}


def _hit(f, centre: np.ndarray, radius: float) -> bool:
    return bool(np.linalg.norm(np.array(f.center_mm) - centre) <= max(radius, 5.0))


def subset_check(session, crops: list, n: int = 8) -> dict:
    """Centred-patch scores of the first ``n`` test crops, for the pipeline test."""
    cases = []
    for crop in crops[:n]:
        patch = pipe.window(pipe.crop_like(extract(crop.hu, crop.centre), 2 * crop.radius, PATCH), PATCH)
        patch = patch.astype(np.float32)
        p = float(pipe.score(session, patch[None])[0][0])
        cases.append({"id": crop.id, "centre_zyx_1mm": np.round(crop.centre, 3).tolist(),
                      "diameter_mm": round(2 * crop.radius, 4), "score": round(p, 5)})
    return {"split": "test", "cases": cases}


def main() -> None:
    setup(NAME)
    out_dir = WORK / NAME / "export"
    onnx_path = out_dir / "model.onnx"
    export(onnx_path)
    session = cpu_session(onnx_path)
    crops, _ = load_crops()
    vpos, vneg = crop_scores(session, crops["val"], seed=1)
    threshold = pick_threshold(vpos)
    report: dict = {"threshold": threshold, "val": crop_metrics(vpos, vneg, crops["val"], threshold)}
    tpos, tneg = crop_scores(session, crops["test"], seed=2)
    report["test"] = crop_metrics(tpos, tneg, crops["test"], threshold)
    log.info("val %s\ntest %s", report["val"], report["test"])
    save_json(out_dir / "subset_check.json", subset_check(session, crops["test"]))
    package = with_threshold(exported_package(NAME, onnx_path), threshold)
    report["lidc_0314"] = whole_scan(package, product_session(onnx_path))
    report["onnx_mb"] = round(onnx_path.stat().st_size / 2**20, 3)
    log.info("0314 %s", report["lidc_0314"])
    save_json(out_dir / "metrics.json", report)


if __name__ == "__main__":
    main()
