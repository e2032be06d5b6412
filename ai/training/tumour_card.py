"""The tumour package: model.json and MODEL_CARD.md from the measured metrics."""

from __future__ import annotations

from ai.package import InputSpec, ModelPackage, OutputSpec, Scope, TrainingData
from ai.training.evaluate import fmt, metric_objects
from ai.training.publish import PRETRAINED, load_metrics, rows, train_minutes, write

NAME = "tumour-mri"
KEYS = ["accuracy", "iou50_recall", "mean_iou", "cam_in_box",
        "sensitivity_glioma", "sensitivity_meningioma", "sensitivity_pituitary",
        "iou50_recall_glioma", "iou50_recall_meningioma", "iou50_recall_pituitary",
        "cam_in_box_glioma", "cam_in_box_meningioma", "cam_in_box_pituitary"]
SPLIT = ("by image in blocks of 20 neighbouring ids (seeded, stratified by type), 70/15/15: "
         "1,736 train / 364 validation / 345 test slices; the source has no patient IDs")


def package(m: dict) -> ModelPackage:
    test = m["test"]
    return ModelPackage(
        name=NAME, version="1.0.0", task="detection", target="tumour", pipeline="tumour",
        scope=Scope(modalities=("MR",), dimensionality="2d", body_parts=()),  # PNG/JPEG: declared
        input=InputSpec(axes="NCHW", channels=1, size=(224, 224), normalization="unit_range",
                        percentiles=(0.5, 99.5), resize="letterbox", invert_monochrome1=True),
        outputs=(OutputSpec("logits", "type scores before softmax, (N, 3): glioma, meningioma, pituitary"),
                 OutputSpec("cam", "class activation maps, (N, 3, 14, 14), last feature map × linear head"),
                 OutputSpec("box", "tumour box, (N, 4), normalised (cx, cy, w, h) on the 224² input")),
        labels=("glioma", "meningioma", "pituitary"), operating_points=(),
        explanation="cam_output",
        training_data=TrainingData(
            name="brain-tumor-mri (Cheng et al. 2015, figshare 1512427)", licence="CC BY 4.0",
            source="figshare 1512427 via github nanonane/RCS-YOLO (commit 57449ecb)", split=SPLIT,
            pretrained_from=PRETRAINED),
        metrics=metric_objects({k: test[k] for k in KEYS if k in test}),
        description="Brain-tumour type (glioma / meningioma / pituitary) and box on one T1 contrast-"
                    "enhanced MRI slice. Assumes a tumour is present. Not for diagnostic use.",
    )


def card(m: dict) -> str:
    test, val = m["test"], m["val"]
    lat = m["latency_slice_ms"]
    return f"""# tumour-mri — brain-MRI tumour type and box

**Not for diagnostic use.** Research and demonstration model; it has not been validated clinically.

## What it does
One axial T1 contrast-enhanced MRI slice (any size; letterboxed to 224×224, intensities /255 for 8-bit,
else stretched between the 0.5 and 99.5 percentiles) → tumour type (glioma / meningioma / pituitary),
a tumour box and a class-activation map (14×14, shown on the input grid).
**Every training slice contains a tumour: the model cannot say "no tumour"** and will name a type and
draw a box on any slice, tumour or not.

## Data, licence, attribution
- brain-tumor-mri: 2,445 slices (1,139 glioma, 574 meningioma, 732 pituitary), 512×512 8-bit JPEG with
  YOLO boxes. Cheng J. et al., "Enhanced Performance of Brain Tumor Classification via Tumor Region
  Augmentation and Partition", PLoS ONE 10(10):e0140381, 2015; data figshare 1512427 (CC BY 4.0),
  copied from github nanonane/RCS-YOLO (commit 57449ecb).
- Pretrained weights: {PRETRAINED}. The RGB stem was collapsed to one channel (weights summed).

## Split
{SPLIT}. Splits in `split.csv`. **Leakage caveat:** without patient IDs, slices of one patient can
fall on both sides of the split (blocks of neighbouring ids reduce but do not remove this), so the
test figures are likely optimistic for new patients.

## Training
`python -m ai.training.tumour`, `python -m ai.training.tumour_eval`, `python -m ai.training.tumour_card`
(seed 0). EfficientNet-Lite0 with the stem and blocks up to stride 8 frozen (their features cached for
each slice and its mirror image); the stride-16 and stride-32 blocks, a stride-16 fused map (GAP →
linear type head, whose weights give the CAM) and a soft-argmax box head on a stride-8 map (28×28)
trained with cross-entropy + L1 + GIoU + centre-cell loss, plus a loss that keeps the true class's CAM
mass (spatial softmax) inside the annotated box. AdamW, one-cycle LR, 12 epochs, best epoch by
validation accuracy + IoU≥0.5 recall + CAM-cell-in-box rate. Training wall time {m["train_minutes"]} min
on 2 shared cores (`train_info.json`), of which 4.0 min built the feature cache (the resized-slice
cache, ≈ 0.5 min, was already present).

## Test metrics (held-out test split — see History for its use; 95 % bootstrap CI, 1,000 resamples)
| metric | value |
|---|---|
{rows(test, KEYS)}

Confusion matrix (rows truth, columns prediction; glioma, meningioma, pituitary): {m["test_confusion"]}

Validation (used for model selection): accuracy {fmt(val["accuracy"])}, IoU≥0.5 recall
{fmt(val["iou50_recall"])}, CAM peak in box {fmt(val["cam_in_box"])}.

Targets (issue 5): type accuracy ≥ 0.90 — {_verdict(test["accuracy"], 0.90)}; box recall at IoU ≥ 0.5
≥ 0.80 — {_verdict(test["iou50_recall"], 0.80)}; CAM peak inside the box ≥ 0.80 —
{_verdict(test["cam_in_box"], 0.80)}.

What was tried for the box miss: a soft-argmax box head at stride 16 (v0/v1; IoU≥0.5 recall 0.64–0.66),
sharper heat maps at inference (temperature 2 and 4 on v1's validation: 0.657 and 0.648 vs 0.654 —
no gain, not adopted), then the box head at stride 8 with the stride-16 blocks fine-tuned (v2: 0.736).
Glioma boxes (large, ill-defined margins) remain the weak class. Likely next steps, not done for lack
of CPU time: fine-tune the frozen stride-2…8 blocks too, a larger input (≥ 320²).

`cam_in_box`: the peak of the predicted class's CAM (bilinearly resized to the input grid) lies inside
the annotated box. `iou50_recall`: the predicted box has IoU ≥ 0.5 with the annotated box.

## History (honest accounting of test-split use)
The test split was measured three times, once per model version; each version was chosen on the
validation split before its test measurement, and nothing was tuned on test.
- v0 (stride-16 cache, box head at stride 16, no CAM loss, 10 epochs): test accuracy 0.904 (95 % CI
  0.875–0.933), IoU≥0.5 recall 0.638 (0.586–0.687), CAM peak in box 0.000 — its CAM peaked on the image
  border; validation showed the same (0.000), which motivated the CAM loss.
- v1 (+ CAM-in-box loss, 14 epochs): test accuracy 0.893 (0.861–0.925), IoU≥0.5 recall 0.655
  (0.606–0.704), CAM peak in box 0.841 (0.800–0.875); validation 0.918 / 0.654 / 0.882.
- v2 (this model: stride-8 cache, stride-16 blocks fine-tuned too, box head at stride 8): validation
  0.956 / 0.725 / 0.885 — better than v1 on all three, so it replaced v1 and was measured on test once.
Three looks at one test split make its figures slightly optimistic, on top of the leakage caveat.

## Speed and size
One slice through the pipeline (letterbox + onnxruntime CPU, 2 threads + post-processing):
median {lat["median_ms"]} ms, p95 {lat["p95_ms"]} ms on the 2-core build machine, which was shared with
other jobs while measuring. ONNX file {m["onnx_mb"]} MiB.

## Caveats
- Image-level split without patient IDs (see above); a single public source, one contrast (T1 CE).
- No tumour-free slices: it always reports a tumour.
- Boxes are one per slice; multifocal tumours are not handled.
"""


def _verdict(metric: dict, target: float) -> str:
    v = metric["value"]
    return f"**met** ({v:.3f})" if v >= target else f"**missed** by {target - v:.3f} ({v:.3f})"


def main() -> None:
    m = load_metrics(NAME)
    m["train_minutes"] = train_minutes(NAME)
    write(NAME, package(m), card(m), m)


if __name__ == "__main__":
    main()
