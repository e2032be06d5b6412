"""Choose the detector's decoding on the validation split: ``python -m ai.training.fracture_decode``.

Reads the best epoch's validation maps (``best_val.npz`` from :mod:`ai.training.fracture`) and compares
peak decodings as the pipeline reports them (≤ ``MAX_BOXES`` candidates ≥ ``MIN_BOX_SCORE``): 3×3 peaks
alone and with greedy box NMS at several IoUs. Prints AP50, AP30 and IoU ≥ 0.3 recall at ≤ 0.9 false
boxes per image; the test split is not touched."""

from __future__ import annotations

import numpy as np

from ai.box_decode import decode_centres
from ai.pipelines.fracture import MAX_BOXES, MIN_BOX_SCORE
from ai.training.common import WORK, save_json
from ai.training.fracture_data import NAME, STRIDE, load
from ai.validation.detection import average_precision, recall_and_fp, threshold_for_fp

VARIANTS = (None, 0.5, 0.3, 0.2, 0.1, 0.01)  # NMS IoU (None: 3×3 peaks only)
MAX_FP = 0.9


def evaluate(maps: np.ndarray, boxes: list, nms_iou: float | None) -> dict[str, float]:
    dets = [
        decode_centres(m[0].astype(np.float32), m[1:].astype(np.float32), STRIDE, MAX_BOXES, MIN_BOX_SCORE,
                       nms_iou)
        for m in maps
    ]
    t = threshold_for_fp(dets, boxes, MAX_FP, 0.3)
    recall, fp = recall_and_fp(dets, boxes, t, 0.3)
    return {
        "nms_iou": nms_iou,
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
    maps = np.load(WORK / NAME / "best_val.npz")["maps"]
    rows = [evaluate(maps, boxes, v) for v in VARIANTS]
    for row in rows:
        print(row)
    save_json(WORK / NAME / "decode_choice.json", {"split": "val", "variants": rows})


if __name__ == "__main__":
    main()
