"""The fracture package: model.json and MODEL_CARD.md from what ``radsight validate`` measured."""

from __future__ import annotations

from ai.package import InputSpec, ModelPackage, OperatingPoint, OutputSpec, Scope, TrainingData
from ai.training.evaluate import metric_objects
from ai.training.publish import PRETRAINED

NAME = "fracture-radiograph"
SPLIT = ("by image in blocks of 10 neighbouring ids (seeded, stratified by label), 70/15/15: "
         "1,579 train / 334 validation / 328 test images; the source has no patient IDs")


def package(points: tuple[OperatingPoint, ...], metrics: dict) -> ModelPackage:
    return ModelPackage(
        name=NAME, version="2.0.0", task="detection", target="fracture", pipeline="fracture",
        scope=Scope(modalities=("CR", "DX"), dimensionality="2d"),  # PNG/JPEG: declared by the reader
        input=InputSpec(axes="NCHW", channels=1, size=(320, 320), normalization="minmax"),
        outputs=(OutputSpec("logits", "image-level scores before softmax, (N, 2): no fracture, fracture"),
                 OutputSpec("cam", "class activation maps of the image-level head, (N, 2, 20, 20)"),
                 OutputSpec("heat", "fracture-centre probability per stride-8 cell, (N, 1, 40, 40)"),
                 OutputSpec("reg", "per cell: centre offset x, y and log box width, height in cells, (N, 4, 40, 40)"),
                 OutputSpec("ood_distance", "Mahalanobis distance of the input to the training radiographs, (N,); "
                                            "threshold in ood.json")),
        labels=("no fracture", "fracture"), operating_points=points,
        explanation="cam_output",
        training_data=TrainingData(
            name="FracAtlas (Abedeen et al. 2023)", licence="CC BY 4.0",
            source="figshare doi:10.6084/m9.figshare.22363012 via github marvY-O/FracAtlas (commit e548d128)",
            split=SPLIT, pretrained_from=PRETRAINED),
        metrics=metric_objects(metrics),
        description="Fracture boxes with scores on a musculoskeletal radiograph (hand, leg, hip, shoulder), an "
                    "image-level fracture probability for triage and the detector's centre map; refuses inputs "
                    "unlike its training radiographs. Not for diagnostic use.",
    )
