"""Choose the detector's decoding on the validation split: ``python -m ai.training.fracture_decode``.

Reads the best epoch's validation maps (``best_val.npz`` from :mod:`ai.training.fracture`) and compares
peak decodings as the pipeline reports them (≤ ``MAX_BOXES`` candidates ≥ ``MIN_BOX_SCORE``): 3×3 or 5×5
peaks, alone or with greedy box NMS, box scores from the centre map alone or fused with the image-level
probability. Prints AP50, AP30 and IoU ≥ 0.3 recall at ≤ 0.9 false
boxes per image; the test split is not touched."""

from __future__ import annotations

import numpy as np

from ai.box_decode import decode_centres
from ai.pipelines.fracture import MAX_BOXES, MIN_BOX_SCORE
from ai.training.common import WORK, save_json
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


def main() -> None:
    data = load()
    val = data.split == "val"
    boxes = [b for b, keep in zip(data.boxes, val, strict=True) if keep]
    saved = np.load(WORK / NAME / "best_val.npz")
    rows = [evaluate(saved["maps"], saved["prob"], boxes, *v) for v in VARIANTS]
    for row in rows:
        print(row)
    save_json(WORK / NAME / "decode_choice.json", {"split": "val", "variants": rows})


if __name__ == "__main__":
    main()
