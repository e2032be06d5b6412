"""The fracture package: model.json and MODEL_CARD.md from the measured metrics."""

from __future__ import annotations

from ai.datasets import REGIONS
from ai.package import InputSpec, ModelPackage, OperatingPoint, OutputSpec, Scope, TrainingData
from ai.training.evaluate import fmt, metric_objects
from ai.training.publish import PRETRAINED, load_metrics, rows, train_minutes, write

NAME = "fracture-radiograph"
KEYS = ["auc", "sensitivity", "specificity", "ppv", "accuracy", "cam_in_box"]
SPLIT = ("by image in blocks of 10 neighbouring ids (seeded, stratified by label), 70/15/15: "
         "1,579 train / 334 validation / 328 test images; the source has no patient IDs")


def package(m: dict) -> ModelPackage:
    val = m["val"]["overall"]
    metrics = {k: m["test"]["overall"][k] for k in KEYS if k in m["test"]["overall"]}
    for region in REGIONS:
        for k in ("auc", "sensitivity", "specificity"):
            if k in m["test"].get(region, {}):
                metrics[f"{k}_{region}"] = m["test"][region][k]
    return ModelPackage(
        name=NAME, version="1.0.0", task="classification", target="fracture", pipeline="fracture",
        scope=Scope(modalities=("CR", "DX"), dimensionality="2d"),  # PNG/JPEG: declared by the reader
        input=InputSpec(axes="NCHW", channels=1, size=(320, 320), normalization="unit_range",
                        percentiles=(0.5, 99.5), resize="letterbox", invert_monochrome1=True),
        outputs=(OutputSpec("logits", "scores before softmax, (N, 2): no fracture, fracture"),
                 OutputSpec("cam", "class activation maps, (N, 2, 20, 20), last feature map × linear head")),
        labels=("no fracture", "fracture"),
        operating_points=(OperatingPoint(label="fracture", threshold=round(m["threshold"], 6),
                                         sensitivity=val["sensitivity"]["value"],
                                         specificity=val["specificity"]["value"]),),
        explanation="cam_output",
        training_data=TrainingData(
            name="FracAtlas (Abedeen et al. 2023)", licence="CC BY 4.0",
            source="figshare doi:10.6084/m9.figshare.22363012 via github marvY-O/FracAtlas (commit e548d128)",
            split=SPLIT, pretrained_from=PRETRAINED),
        metrics=metric_objects(metrics),
        description="Fracture present / absent on a musculoskeletal radiograph (hand, leg, hip, shoulder), "
                    "with a class-activation map. Not for diagnostic use.",
    )


def region_table(test: dict) -> str:
    lines = ["| region | images | AUC | sensitivity | specificity |", "|---|---|---|---|---|"]
    for region in REGIONS:
        r = test.get(region, {})
        if not r:
            continue
        n = r["accuracy"]["n"]
        cells = [fmt(r[k]) if k in r else "n/a" for k in ("auc", "sensitivity", "specificity")]
        lines.append(f"| {region} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def card(m: dict) -> str:
    test, val = m["test"]["overall"], m["val"]["overall"]
    lat = m["latency_image_ms"]
    return f"""# fracture-radiograph — fracture present / absent on radiographs

**Not for diagnostic use.** Research and demonstration model; it has not been validated clinically.

## What it does
One radiograph (any size; letterboxed to 320×320; 8-bit /255, other depths stretched between the 0.5 and
99.5 percentiles; MONOCHROME1 inverted) → probability of a fracture, a decision at the operating point,
and a class-activation map (20×20, shown on the input grid) with a box around its hottest region.

## Data, licence, attribution
- FracAtlas: 2,241 musculoskeletal radiographs (564 fractured) of hand, leg, hip and shoulder, with
  fracture boxes. Abedeen I. et al., "FracAtlas: A Dataset for Fracture Classification, Localization and
  Segmentation of Musculoskeletal Radiographs", Scientific Data 10:521 (2023); figshare
  doi:10.6084/m9.figshare.22363012, CC BY 4.0; copied from github marvY-O/FracAtlas (commit e548d128);
  truncated files and near-duplicates removed and 200 large originals downscaled (see the data MANIFEST).
- Pretrained weights: {PRETRAINED}. The RGB stem was collapsed to one channel (weights summed).

## Split
{SPLIT}. Splits in `split.csv`. In the tables, n of a rate is the number of cases it is computed
over (sensitivity: fractured images; specificity: normal images).
**Leakage caveat:** without patient IDs, views of one patient can fall on both sides of the split
(blocks of neighbouring ids reduce but do not remove this): the test figures are likely optimistic
for new patients.

## Training
`python -m ai.training.fracture` then `python -m ai.training.fracture_eval` (seed 0). EfficientNet-Lite0
with the stem and blocks up to stride 16 frozen (features cached for each image and its mirror image);
the stride-32 blocks and a stride-16 fused map (GAP → linear head, whose weights give the CAM) trained
with class-weighted cross-entropy, an auxiliary box-mask loss on the fused map (training only) and a
loss that keeps the fracture CAM's mass (spatial softmax) inside the boxes of fractured images; AdamW,
one-cycle LR, best epoch by validation ROC AUC. Training wall time: {m["train_minutes"]} min on 2 shared
cores (`train_info.json`) with the feature cache present; building the cache (images letterboxed to 320²,
frozen features of 2 × 2,241 images) took about 19.5 min more at nice 19 on the heavily shared machine.

Also tried (validation only, not adopted): the stride-8 variant that helped the tumour model (blocks
from stride 8 fine-tuned, 8 epochs, 18.0 min): validation ROC AUC 0.833 vs 0.842 for this model, so
this model was kept and the test split was measured once, for this model only.

## Operating point (chosen on validation only)
Threshold {m["threshold"]:.4f} on the fracture probability: the highest threshold keeping validation
sensitivity ≥ 0.85. On validation: sensitivity {fmt(val["sensitivity"])}, specificity
{fmt(val["specificity"])}.

## Test metrics (held-out test split, touched once; 95 % bootstrap CI, 1,000 resamples)
| metric | value |
|---|---|
{rows(test, KEYS)}

`cam_in_box`: on fractured test images with boxes, the CAM peak lies inside an annotated fracture box.

Per body region (dataset.csv flags; an image can carry several):

{region_table(m["test"])}

Targets (issue 5): ROC AUC ≥ 0.85 — {_verdict(test["auc"], 0.85)}; sensitivity ≥ 0.80 at the operating
point — {_verdict(test["sensitivity"], 0.80)} (specificity there {test["specificity"]["value"]:.3f}).

## Speed and size
One radiograph through the pipeline (letterbox + onnxruntime CPU, 2 threads + post-processing): median
{lat["median_ms"]} ms, p95 {lat["p95_ms"]} ms on the 2-core build machine, shared with other jobs while
measuring. ONNX file {m["onnx_mb"]} MiB.

## Caveats
- Image-level split without patient IDs (see above); a single public source.
- Hardware (implants) and multi-view images are in the data; the model may react to them.
- The CAM is coarse (16-pixel cells at 320²). Its peak lies inside an annotated fracture box on only
  {test["cam_in_box"]["value"]:.0%} of fractured test images: it shows where the evidence is, often not
  the fracture itself; do not use it to locate fractures.
- Specificity at the chosen operating point is low ({test["specificity"]["value"]:.3f}), most of all
  for hands: expect many false alarms.
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
