"""Choose the detector's decoding on the validation split: ``python -m ai.training.fracture_decode``.

Reads the best epoch's validation maps (``best_val.npz`` from :mod:`ai.training.fracture`) and compares
peak decodings as the pipeline reports them (≤ ``MAX_BOXES`` candidates ≥ ``MIN_BOX_SCORE``): 3×3 or 5×5
peaks, alone or with greedy box NMS, box scores from the centre map alone or fused with the image-level
probability (AP50, AP30, IoU ≥ 0.3 recall at ≤ 0.9 false boxes per image); and the AUC of image-level
scores (the image head, the centre map's maximum, both). The test split is not touched."""

from __future__ import annotations

import numpy as np

from ai.box_decode import decode_centres
from ai.pipelines.fracture import MAX_BOXES, MIN_BOX_SCORE
from ai.training.common import WORK, roc_auc, save_json
from ai.training.fracture_data import NAME, STRIDE, load
from ai.validation.detection import average_precision, recall_and_fp, threshold_for_fp

# (NMS IoU or None, peak radius in cells, box score = sqrt(centre heat × image probability) or heat alone)
VARIANTS = [(nms, radius, fuse) for fuse in (False, True) for radius in (1, 2) for nms in (None, 0.3, 0.1)]
MAX_FP = 0.9


def evaluate(
    maps: np.ndarray, probs: np.ndarray, boxes: list, nms_iou: float | None, radius: int, fuse: bool
) -> dict[str, float]:
    dets = []
    for m, p in zip(maps, probs, strict=True):
        heat = m[0].astype(np.float32)
        heat = np.sqrt(heat * p) if fuse else heat
        dets.append(decode_centres(heat, m[1:].astype(np.float32), STRIDE, MAX_BOXES, MIN_BOX_SCORE, nms_iou,
                                   radius))
    t = threshold_for_fp(dets, boxes, MAX_FP, 0.3)
    recall, fp = recall_and_fp(dets, boxes, t, 0.3)
    return {
        "nms_iou": nms_iou,
        "peak_radius": radius,
        "fused_with_image_probability": fuse,
        "ap50": round(average_precision(dets, boxes, 0.5), 4),
        "ap30": round(average_precision(dets, boxes, 0.3), 4),
        "iou30_recall": round(recall, 4),
        "fp_per_image": round(fp, 3),
        "box_threshold": round(t, 4),
    }


IMAGE_SCORES = {
    "image head": lambda p, m: p,
    "max centre heat": lambda p, m: m,
    "mean of both": lambda p, m: (p + m) / 2,
    "geometric mean": lambda p, m: np.sqrt(p * m),
}


def image_score_aucs(probs: np.ndarray, maps: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Validation AUC of image-level scores: the image head's probability, the centre map's maximum, both."""
    peak = maps[:, 0].astype(np.float32).reshape(len(maps), -1).max(axis=1)
    return {name: round(roc_auc(labels, f(probs, peak)), 4) for name, f in IMAGE_SCORES.items()}


def main() -> None:
    data = load()
    val = data.split == "val"
    boxes = [b for b, keep in zip(data.boxes, val, strict=True) if keep]
    saved = np.load(WORK / NAME / "best_val.npz")
    rows = [evaluate(saved["maps"], saved["prob"], boxes, *v) for v in VARIANTS]
    aucs = image_score_aucs(saved["prob"], saved["maps"], data.labels[val])
    for row in rows:
        print(row)
    print(aucs)
    save_json(WORK / NAME / "decode_choice.json", {"split": "val", "variants": rows, "image_score_auc": aucs})


if __name__ == "__main__":
    main()
