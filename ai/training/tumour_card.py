"""The tumour package: model.json and MODEL_CARD.md from what ``radsight validate`` measured.

``python -m ai.training.tumour_card OUT`` reads ``OUT/{br35h,brain}/metrics.json`` and ``cases.csv``
(``radsight validate`` on the test splits) and ``OUT/ood.json`` (:mod:`ai.training.ood_check`)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from ai.package import InputSpec, ModelPackage, OperatingPoint, OutputSpec, Scope, TrainingData, write_package
from ai.training.common import MODELS, WORK, bootstrap_ci
from ai.training.evaluate import fmt, metric_objects
from ai.training.publish import PRETRAINED, train_minutes

NAME = "tumour-mri"
SPLIT = ("by image in blocks of neighbouring ids (seeded, stratified), 70/15/15 per source: brain-tumor-mri "
         "1,736 train / 364 validation / 345 test slices (split.csv, as in v2); Br35H 535 / 104 / 105 "
         "(split_br35h.csv); neither source has patient IDs")


def package(point: OperatingPoint, metrics: dict) -> ModelPackage:
    return ModelPackage(
        name=NAME, version="3.0.0", task="detection", target="tumour", pipeline="tumour",
        scope=Scope(modalities=("MR",), dimensionality="2d", body_parts=()),  # PNG/JPEG: declared
        input=InputSpec(axes="NCHW", channels=1, size=(224, 224), normalization="minmax"),
        outputs=(OutputSpec("presence", "tumour logit, (N,)"),
                 OutputSpec("logits", "type scores before softmax, (N, 3): glioma, meningioma, pituitary"),
                 OutputSpec("cam", "activation maps, (N, 4, 14, 14): tumour, glioma, meningioma, pituitary"),
                 OutputSpec("box", "tumour box, (N, 4), normalised (cx, cy, w, h) on the 224² input"),
                 OutputSpec("ood_distance", "Mahalanobis distance of the input to the training slices, (N,); "
                                            "threshold in ood.json")),
        labels=("tumour", "glioma", "meningioma", "pituitary"), operating_points=(point,),
        explanation="cam_output",
        training_data=TrainingData(
            name="brain-tumor-mri (Cheng et al. 2015, figshare 1512427) + Br35H (Hamada 2020)",
            licence="CC BY 4.0 (brain-tumor-mri); Br35H: licence not stated by the source",
            source="figshare 1512427 and Br35H (Kaggle), both via github nanonane/RCS-YOLO", split=SPLIT,
            pretrained_from=PRETRAINED),
        metrics=metric_objects(metrics),
        description="Brain-tumour presence on one MRI slice; where present its type (glioma / meningioma / "
                    "pituitary), box and activation map; refuses inputs unlike its training slices. "
                    "Not for diagnostic use.",
    )
