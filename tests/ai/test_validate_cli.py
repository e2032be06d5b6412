"""`radsight validate`: metrics.json and plots from predictions whose metrics are known by hand, the
whole command on a real onnxruntime model with known outputs, refusals, and the shipped models on real
labelled subsets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ai.package import InputSpec, ModelPackage, OutputSpec, Scope, TrainingData, write_package
from ai.validation.cases import CaseResult, score_case
from ai.validation.layouts import LayoutError, detect_layout, evenly_spaced
from ai.validation.metrics import ScanOutcome
from ai.validation.report import build_report, write_report
from viewer.cli import main

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "resources" / "models"
ALL_KEYS = {"sensitivity", "specificity", "ppv", "f1", "accuracy", "auc", "lesion_sensitivity", "fp_per_scan",
            "froc_cpm", "iou50_recall", "cam_in_box", "dice", "hd95", "iou30_recall", "fp_boxes_per_image",
            "ap50",
            "not_scored_rate", "presence_sensitivity", "presence_specificity", "presence_ppv", "presence_f1",
            "presence_accuracy", "presence_auc"}


# --- report on hand-made predictions ------------------------------------------------------------


def _binary_cases() -> list[CaseResult]:
    # Six radiographs; positive when score >= 0.5.
    #   hand: fractured 0.9 (TP), normal 0.6 (FP), normal 0.1 (TN)
    #   leg:  fractured 0.3 (FN), fractured 0.8 (TP), normal 0.2 (TN)
    # TP 2, FP 1, TN 2, FN 1 -> sensitivity 2/3, specificity 2/3, PPV 2/3, F1 2/3, accuracy 4/6.
    # AUC: positives .9 .3 .8 vs negatives .6 .1 .2: .9 beats 3, .8 beats 3, .3 beats .1 and .2 -> 8/9.
    rows = [("a", True, 0.9, "hand"), ("b", False, 0.6, "hand"), ("c", False, 0.1, "hand"),
            ("d", True, 0.3, "leg"), ("e", True, 0.8, "leg"), ("f", False, 0.2, "leg")]
    heat = np.zeros((40, 40))
    heat[10, 30] = 1.0  # peak at pixel centre (x 30.5, y 10.5)
    return [
        CaseResult(id=i, truth="fractured" if pos else "non_fractured", subgroups=(region,), positive=pos,
                   score=s, gt_boxes=np.array([[28, 8, 33, 13]]) if i == "a" else
                   (np.array([[0, 0, 5, 5]]) if pos else np.zeros((0, 4))), heatmap=heat)
        for i, pos, s, region in rows
    ]


def test_binary_report_by_hand(tmp_path: Path) -> None:
    cases = [score_case(c) for c in _binary_cases()]
    report = build_report("fracture-test", "0", cases, threshold=0.5, n_boot=200)
    written = write_report(report, tmp_path)
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert set(data) >= {"model", "n", "metrics", "subgroups"}
    assert data["model"] == "fracture-test" and data["n"] == 6
    m = {k: v["value"] for k, v in data["metrics"].items()}
    assert m == pytest.approx({"sensitivity": 2 / 3, "specificity": 2 / 3, "ppv": 2 / 3, "f1": 2 / 3,
                               "accuracy": 4 / 6, "auc": 8 / 9, "cam_in_box": 1 / 3})
    # cam_in_box: of the three cases with a box, only "a"'s box (28..33, 8..13) holds the peak.
    for entry in data["metrics"].values():
        assert set(entry) == {"value", "ci95"}
        lo, hi = entry["ci95"]
        assert lo <= entry["value"] <= hi
    # Subgroup hand: TP a, FP b, TN c -> sensitivity 1, specificity 1/2; leg: TP e, FN d, TN f.
    hand, leg = data["subgroups"]["hand"], data["subgroups"]["leg"]
    assert hand["n"] == 3 and hand["metrics"]["sensitivity"]["value"] == 1.0
    assert hand["metrics"]["specificity"]["value"] == 0.5
    assert leg["metrics"]["sensitivity"]["value"] == 0.5 and leg["metrics"]["specificity"]["value"] == 1.0
    assert (tmp_path / "roc.png") in written and Image.open(tmp_path / "roc.png").size[0] > 100
    assert not (tmp_path / "froc.png").exists()


def test_detection_and_segmentation_report_by_hand(tmp_path: Path) -> None:
    # Two scans of one patient, one of another. Lesion scores / FP scores per scan:
    #   s1 (P1): lesion .9, FP .7        s2 (P1): lesion missed, FP .4       s3 (P2): lesion .6, none
    # At threshold .5: lesions hit 2/3; FPs >= .5: one (.7) over 3 scans = 1/3 per scan.
    # FROC: t=.9 (0 FP, 1/3), .7 (1/3 FP, 1/3), .6 (1/3, 2/3), .4 (2/3, 2/3): every CPM rate from 1/2 FP on
    # reads 2/3; 1/8 and 1/4 FP lie between (0, 1/3) and (1/3, 1/3) -> 1/3. CPM = (2/3 + 5 * 2/3)/7 = 4/7.
    # Masks: s1 identical cubes (Dice 1, HD95 0); s3 pred = gt shifted one voxel along k:
    #   Dice = 2 * 4*5*5 / (125 + 125) = 0.8; HD95 2.0 mm (1 slice of 2 mm; see test_metrics).
    gt = np.zeros((9, 9, 9), bool)
    gt[2:7, 2:7, 2:7] = True
    shifted = np.roll(gt, 1, axis=0)
    cases = [
        CaseResult("s1", "nodule", ("large",), "P1", outcome=ScanOutcome(np.array([0.9]), np.array([0.7])),
                   gt_mask=gt, pred_mask=gt, spacing=(2.0, 0.7, 0.7)),
        CaseResult("s2", "nodule", ("small",), "P1",
                   outcome=ScanOutcome(np.array([-np.inf]), np.array([0.4]))),
        CaseResult("s3", "nodule", ("large",), "P2", outcome=ScanOutcome(np.array([0.6]), np.zeros(0)),
                   gt_mask=gt, pred_mask=shifted, spacing=(2.0, 0.7, 0.7)),
    ]
    report = build_report("nodule-test", "0", [score_case(c) for c in cases], threshold=0.5, n_boot=100)
    write_report(report, tmp_path)
    data = json.loads((tmp_path / "metrics.json").read_text())
    m = {k: v["value"] for k, v in data["metrics"].items()}
    assert set(m) == {"lesion_sensitivity", "fp_per_scan", "froc_cpm", "dice", "hd95"}
    assert m["lesion_sensitivity"] == pytest.approx(2 / 3) and m["fp_per_scan"] == pytest.approx(1 / 3)
    assert m["froc_cpm"] == pytest.approx(4 / 7)
    assert m["dice"] == pytest.approx((1 + 0.8) / 2)
    assert m["hd95"] == pytest.approx((0 + 2.0) / 2)
    assert data["details"]["bootstrap"]["unit"] == "group (patient/scan)"
    assert (tmp_path / "froc.png").is_file() and not (tmp_path / "roc.png").exists()


def test_evenly_spaced_limit_draws_across_folders() -> None:
    items = list(range(100))
    assert evenly_spaced(items, 5) == [0, 25, 50, 74, 99]
    assert evenly_spaced(items, None) == items and evenly_spaced(items, 500) == items


# --- the command on a real onnxruntime model with known outputs --------------------------------


def _constant_tumour_onnx(path: Path) -> None:
    """An ONNX model with the tumour contract whose outputs ignore the pixels: presence logit 3 (a tumour,
    p ≈ 0.95); logits always favour glioma; box = normalised (0.5, 0.5, 0.2, 0.2); cam peaks at cell
    (7, 7)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rows, cols = np.mgrid[0:14, 0:14]
    cam = -((rows - 7.0) ** 2 + (cols - 7.0) ** 2)
    consts = {
        "logit_c": np.array([[2.0, 0.0, 0.0]], np.float32),
        "box_c": np.array([[0.5, 0.5, 0.2, 0.2]], np.float32),
        "cam_c": np.broadcast_to(cam, (1, 4, 14, 14)).astype(np.float32),
        "presence_c": np.array([3.0], np.float32),
        "shape_n": np.array([-1], np.int64),
        "zero": np.zeros((1,), np.float32),
        "shape_n1": np.array([-1, 1], np.int64),
    }
    nodes = [
        helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[16, 16], strides=[16, 16]),
        helper.make_node("Mul", ["pooled", "zero"], ["pooled0"]),
        helper.make_node("Add", ["pooled0", "cam_c"], ["cam"]),
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "shape_n1"], ["mean_n1"]),
        helper.make_node("Mul", ["mean_n1", "zero"], ["mean0"]),
        helper.make_node("Add", ["mean0", "logit_c"], ["logits"]),
        helper.make_node("Add", ["mean0", "box_c"], ["box"]),
        helper.make_node("Reshape", ["mean0", "shape_n"], ["mean0_n"]),
        helper.make_node("Add", ["mean0_n", "presence_c"], ["presence"]),
    ]
    graph = helper.make_graph(
        nodes, "constant_tumour",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 224, 224])],
        [helper.make_tensor_value_info("presence", TensorProto.FLOAT, ["N"]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("cam", TensorProto.FLOAT, ["N", 4, 14, 14]),
         helper.make_tensor_value_info("box", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _install_constant_tumour(models_dir: Path, tmp_path: Path) -> None:
    _constant_tumour_onnx(tmp_path / "constant.onnx")
    package = ModelPackage(
        name="tumour-constant", version="0.0.1", task="detection", target="tumour",
        scope=Scope(modalities=("MR",), dimensionality="2d"),
        input=InputSpec(axes="NCHW", channels=1, size=(224, 224), normalization="minmax"),
        outputs=(OutputSpec("presence", "(N,)"), OutputSpec("logits", "(N, 3)"),
                 OutputSpec("cam", "(N, 4, 14, 14)"), OutputSpec("box", "(N, 4)")),
        labels=("tumour", "glioma", "meningioma", "pituitary"), operating_points=(), explanation="cam_output",
        training_data=TrainingData(name="none (constant test model)", licence="Apache-2.0"),
    )
    write_package(models_dir / "tumour-constant", tmp_path / "constant.onnx", package)


def _synthetic_brain_folder(root: Path) -> None:
    """Five noise slices (512²) with YOLO boxes chosen by hand."""
    boxes = {"glioma/1": "2 0.5 0.5 0.2 0.2", "glioma/2": "2 0.5 0.5 0.2 0.2",
             "glioma/3": "2 0.2 0.2 0.1 0.1", "meningioma/4": "1 0.5 0.5 0.2 0.2",
             "pituitary/5": "0 0.8 0.8 0.1 0.1"}
    rng = np.random.default_rng(0)
    for stem, line in boxes.items():
        (root / stem).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (512, 512), dtype=np.uint8)).save(root / f"{stem}.jpg")
        (root / f"{stem}.txt").write_text(line + "\n")


def test_validate_command_on_constant_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models, data, out = tmp_path / "models", tmp_path / "brain", tmp_path / "out"
    _install_constant_tumour(models, tmp_path)
    _synthetic_brain_folder(data)
    monkeypatch.setenv("RADSIGHT_MODELS_DIR", str(models))
    assert main(["validate", "--model", "tumour-constant", "--data", str(data), "--out", str(out),
                 "--bootstrap", "200"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    # The model always says glioma: 3 of 5 slices are gliomas -> accuracy 3/5.
    # Its box (0.5, 0.5, 0.2, 0.2) equals the truth on slices 1, 2, 4 (IoU 1) and misses 3, 5 (IoU 0) -> 3/5.
    # Its map peaks at the centre of cell (7, 7) of 14: pixel ~274 of 512, inside 204.8..307.2 (slices 1, 2,
    # 4), outside the boxes of 3 (76.8..128) and 5 (384..435.2) -> 3/5.
    # Probabilities are the same for every slice: each one-vs-rest AUC is 1/2.
    values = {k: v["value"] for k, v in result["metrics"].items()}
    assert values == pytest.approx({"accuracy": 0.6, "iou50_recall": 0.6, "cam_in_box": 0.6, "auc": 0.5})
    assert result["model"] == "tumour-constant" and result["n"] == 5
    assert result["details"]["threshold"] is None  # multi-class type, boxes and maps: no threshold used
    glioma = result["subgroups"]["glioma"]
    assert glioma["n"] == 3 and glioma["metrics"]["accuracy"]["value"] == 1.0
    assert glioma["metrics"]["iou50_recall"]["value"] == pytest.approx(2 / 3)
    assert result["subgroups"]["pituitary"]["metrics"]["accuracy"]["value"] == 0.0
    # --limit and --subset-file select cases.
    subset = tmp_path / "subset.csv"
    subset.write_text("id,split\n1,test\n3,test\n4,train\n")
    assert main(["validate", "--model", "tumour-constant", "--data", str(data), "--out", str(out),
                 "--subset-file", str(subset), "--split", "test", "--bootstrap", "50"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    assert result["n"] == 2 and result["metrics"]["accuracy"]["value"] == 1.0
    assert result["metrics"]["iou50_recall"]["value"] == 0.5


def test_validate_refuses_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    models, data = tmp_path / "models", tmp_path / "brain"
    _install_constant_tumour(models, tmp_path)
    _synthetic_brain_folder(data)
    monkeypatch.setenv("RADSIGHT_MODELS_DIR", str(models))
    empty, odd = tmp_path / "empty", tmp_path / "odd"
    empty.mkdir()
    odd.mkdir()
    (odd / "notes.txt").write_text("not a data set")
    frac = tmp_path / "frac"
    (frac / "images" / "Fractured").mkdir(parents=True)
    cases = [
        (["--model", "no-such-model", "--data", str(data)], "no model named 'no-such-model'"),
        (["--model", "tumour-constant", "--data", str(empty)], "data folder is empty"),
        (["--model", "tumour-constant", "--data", str(odd)], "unrecognised layout"),
        (["--model", "tumour-constant", "--data", str(frac)], "fracatlas folder"),
        (["--model", "tumour-constant", "--data", str(tmp_path / "missing")], "not found"),
    ]
    for args, reason in cases:
        assert main(["validate", *args, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert reason in err and len(err.splitlines()) == 1, err


def test_detect_layouts_of_shared_data(shared_data: Path) -> None:
    labelled = shared_data / "labelled"
    expected = {"fracatlas": "fracture", "brain-tumor-mri": "tumour", "lidc-nodule-vois": "nodule",
                "br35h": "tumour"}
    present = [name for name in expected if (labelled / name).is_dir()]
    if not present:
        pytest.skip(f"no labelled data sets under {labelled}")
    for name in present:
        layout = detect_layout(labelled / name)
        assert (layout.name, layout.target) == (name, expected[name])
    with pytest.raises(LayoutError, match="unrecognised layout"):
        detect_layout(labelled)


# --- shipped models on real labelled subsets -------------------------------------------------------

SHIPPED_CASES = [("tumour-mri", "brain-tumor-mri", {"accuracy", "auc", "iou50_recall", "cam_in_box"}),
                 ("tumour-mri", "br35h", {"presence_auc", "presence_sensitivity", "presence_specificity"}),
                 ("fracture-radiograph", "fracatlas", {"auc", "sensitivity", "specificity", "iou30_recall",
                                                       "fp_boxes_per_image", "ap50"}),
                 ("nodule-ct", "lidc-nodule-vois", {"lesion_sensitivity", "fp_per_scan", "froc_cpm"})]


@pytest.mark.parametrize(("model", "folder", "keys"), SHIPPED_CASES)
def test_validate_shipped_model_on_real_subset(model: str, folder: str, keys: set[str], shared_data: Path,
                                               tmp_path: Path, output_dir: Path) -> None:
    package_dir = SHIPPED / model
    if not (package_dir / "model.json").is_file():
        pytest.skip(f"shipped model '{model}' not present yet ({package_dir}/model.json missing)")
    data = shared_data / "labelled" / folder
    if not data.is_dir():
        pytest.skip(f"labelled data set not found at {data}")
    out = output_dir / f"validate-{model}-{folder}"
    assert main(["validate", "--model", model, "--data", str(data), "--out", str(out), "--limit", "24",
                 "--bootstrap", "200"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    assert result["model"] == model and result["n"] == 24
    assert keys <= set(result["metrics"]) <= ALL_KEYS
    for entry in result["metrics"].values():
        if entry["value"] is not None and entry["ci95"][0] is not None:
            assert entry["ci95"][0] <= entry["value"] <= entry["ci95"][1]


# --- the engine's protocol path: generic classification pipeline, binary fracture model ----------


def _save_onnx(nodes: list, inputs: list, outputs: list, consts: dict[str, np.ndarray], path: Path) -> None:
    import onnx
    from onnx import helper, numpy_helper

    graph = helper.make_graph(nodes, path.stem, inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _brightness_fracture_onnx(path: Path, size: int, pool: int, gain: float) -> None:
    """logits = [0, gain * mean(image) - 100]; cam = average pooling of the image (``pool`` cells);
    for the fracture pipeline also heat = 8-pixel average pooling of the image (centres on bright
    squares) and reg = zeros (boxes of 8 × 8 pixels on the model grid)."""
    from onnx import TensorProto, helper

    consts = {"shape_n1": np.array([-1, 1], np.int64), "c100": np.array([100.0], np.float32),
              "gain": np.array([gain], np.float32), "zero_col": np.zeros((1, 1), np.float32)}
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "shape_n1"], ["mean_n1"]),
        helper.make_node("Mul", ["mean_n1", "gain"], ["scaled"]),
        helper.make_node("Sub", ["scaled", "c100"], ["logit1"]),
        helper.make_node("Mul", ["logit1", "zero_col"], ["logit0"]),
        helper.make_node("Concat", ["logit0", "logit1"], ["logits"], axis=1),
        helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[pool] * 2, strides=[pool] * 2),
        helper.make_node("Concat", ["pooled", "pooled"], ["cam"], axis=1),
        helper.make_node("AveragePool", ["image"], ["heat"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Mul", ["heat", "zero_col"], ["heat0"]),
        helper.make_node("Concat", ["heat0", "heat0", "heat0", "heat0"], ["reg"], axis=1),
    ]
    cells, grid = size // pool, size // 8
    _save_onnx(nodes, [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, size, size])],
               [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2]),
                helper.make_tensor_value_info("cam", TensorProto.FLOAT, ["N", 2, cells, cells]),
                helper.make_tensor_value_info("heat", TensorProto.FLOAT, ["N", 1, grid, grid]),
                helper.make_tensor_value_info("reg", TensorProto.FLOAT, ["N", 4, grid, grid])],
               consts, path)


# pipeline -> (model input size, CAM pooling, gain so that gain * mean(input) is the 0..255 mean)
BRIGHTNESS_MODELS = {"classification": (64, 8, 1.0), "fracture": (320, 16, 255.0)}
# the input contract each declares in model.json (the fracture one as the shipped fracture model)
BRIGHTNESS_INPUT = {"classification": {"normalization": "none"},
                    "fracture": {"normalization": "unit_range", "resize": "letterbox"}}


def _install_brightness_fracture(models_dir: Path, tmp_path: Path, pipeline: str) -> None:
    from ai.package import OperatingPoint

    size, pool, gain = BRIGHTNESS_MODELS[pipeline]
    _brightness_fracture_onnx(tmp_path / "bright.onnx", size, pool, gain)
    package = ModelPackage(
        name="fracture-bright", version="0.0.1", task="classification", target="fracture",
        scope=Scope(modalities=("DX",), dimensionality="2d"),
        input=InputSpec(axes="NCHW", channels=1, size=(size, size), **BRIGHTNESS_INPUT[pipeline]),
        outputs=(OutputSpec("logits", "(N, 2)"), OutputSpec("cam", "(N, 2, cells, cells)")),
        labels=("no fracture", "fracture"),
        operating_points=(OperatingPoint("fracture", 0.5, 0.5, 0.5),), explanation="cam_output",
        training_data=TrainingData(name="none (brightness test model)", licence="Apache-2.0"),
        pipeline=pipeline,
    )
    write_package(models_dir / "fracture-bright", tmp_path / "bright.onnx", package)


def _synthetic_fracatlas(root: Path) -> None:
    """64x64 images: a 16x16 square of 250 on a background chosen so the image mean is as listed."""
    # id: (folder, mean, square top-left (row, col), region)
    images = {"IMG1": ("Fractured", 150, (8, 40), "hand"), "IMG2": ("Fractured", 120, (8, 40), "leg"),
              "IMG3": ("Fractured", 80, (40, 8), "leg"), "IMG4": ("Non_fractured", 130, (8, 40), "hand"),
              "IMG5": ("Non_fractured", 60, (8, 8), "hand"), "IMG6": ("Non_fractured", 40, (40, 40), "leg")}
    flags = ["image_id,hand,leg,hip,shoulder"]
    boxes = ["image_id,x0,y0,x1,y1"]
    for stem, (folder, mean, (r, c), region) in images.items():
        background = (16 * mean - 250) / 15  # mean = (15 * background + 250) / 16
        pixels = np.full((64, 64), background)
        pixels[r:r + 16, c:c + 16] = 250
        (root / "images" / folder).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.round().astype(np.uint8)).save(root / "images" / folder / f"{stem}.jpg",
                                                              quality=100)
        flags.append(f"{stem}.jpg,{int(region == 'hand')},{int(region == 'leg')},0,0")
        if folder == "Fractured":
            boxes.append(f"{stem}.jpg,36,4,60,28")  # holds the squares at (8, 40), not the one at (40, 8)
    (root / "dataset.csv").write_text("\n".join(flags) + "\n")
    (root / "boxes_staged.csv").write_text("\n".join(boxes) + "\n")


@pytest.mark.parametrize("pipeline", sorted(BRIGHTNESS_MODELS))
def test_validate_binary_model_through_engine_pipeline(pipeline: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The generic classification pipeline and the shipped fracture pipeline, each with a model whose
    answers are known by hand."""
    models, data, out = tmp_path / "models", tmp_path / "frac", tmp_path / "out"
    _install_brightness_fracture(models, tmp_path, pipeline)
    _synthetic_fracatlas(data)
    monkeypatch.setenv("RADSIGHT_MODELS_DIR", str(models))
    assert main(["validate", "--model", "fracture-bright", "--data", str(data), "--out", str(out),
                 "--bootstrap", "200"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    # P(fracture) = sigmoid(mean - 100): called positive (threshold 0.5) when the mean is >= 100.
    #   fractured 150 TP, 120 TP, 80 FN; normal 130 FP, 60 TN, 40 TN.
    #   -> sensitivity 2/3, specificity 2/3, PPV 2/3, F1 2/3, accuracy 4/6.
    #   AUC: 150 beats all 3 normals, 120 beats 60 and 40, 80 beats 60 and 40 -> 7/9.
    # The map peaks on the bright square: inside the box for IMG1, IMG2, outside for IMG3 -> cam_in_box 2/3.
    values = {k: v["value"] for k, v in result["metrics"].items()}
    expected = {"sensitivity": 2 / 3, "specificity": 2 / 3, "ppv": 2 / 3, "f1": 2 / 3, "accuracy": 4 / 6,
                "auc": 7 / 9, "cam_in_box": 2 / 3}
    assert {k: values[k] for k in expected} == pytest.approx(expected)
    assert "iou50_recall" in values  # boxes of the passing findings vs truth
    if pipeline == "fracture":  # scored candidate boxes of the detector contract
        assert {"iou30_recall", "fp_boxes_per_image", "ap50"} <= set(values)
    # hand: IMG1 TP, IMG4 FP, IMG5 TN -> sensitivity 1, specificity 1/2.
    hand = result["subgroups"]["hand"]["metrics"]
    assert hand["sensitivity"]["value"] == 1.0 and hand["specificity"]["value"] == 0.5
    assert result["details"]["threshold"] == 0.5
    assert (out / "roc.png").is_file()


# --- nodule crops: a constant nodule model on three real LIDC crops ------------------------------


def _constant_nodule_onnx(path: Path) -> None:
    """Every 32³ patch: logits (0, 3) -> P(nodule) = sigmoid(3) ~ 0.95; cam zeros (N, 2, 8, 8, 8)."""
    from onnx import TensorProto, helper

    consts = {"shape_n1": np.array([-1, 1], np.int64), "zero": np.zeros((1,), np.float32),
              "logit_c": np.array([[0.0, 3.0]], np.float32)}
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2, 3, 4], keepdims=1),
        helper.make_node("Reshape", ["mean", "shape_n1"], ["mean_n1"]),
        helper.make_node("Mul", ["mean_n1", "zero"], ["m0"]),
        helper.make_node("Add", ["m0", "logit_c"], ["logits"]),
        helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[4, 4, 4], strides=[4, 4, 4]),
        helper.make_node("Mul", ["pooled", "zero"], ["p0"]),
        helper.make_node("Concat", ["p0", "p0"], ["cam"], axis=1),
    ]
    _save_onnx(nodes, [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 32, 32, 32])],
               [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2]),
                helper.make_tensor_value_info("cam", TensorProto.FLOAT, ["N", 2, 8, 8, 8])], consts, path)


def test_validate_nodule_crops_with_constant_model(shared_data: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ai.package import OperatingPoint, Window

    vois = shared_data / "labelled" / "lidc-nodule-vois"
    if not (vois / "voi_index.csv").is_file():
        pytest.skip(f"lidc-nodule-vois not found at {vois}")
    _constant_nodule_onnx(tmp_path / "nodule.onnx")
    package = ModelPackage(
        name="nodule-constant", version="0.0.1", task="detection", target="nodule",
        scope=Scope(modalities=("CT",), dimensionality="3d"),
        input=InputSpec(axes="NCDHW", channels=1, size=(32, 32, 32), spacing_mm=(1.0, 1.0, 1.0),
                        window=Window(-300.0, 1400.0), normalization="minmax", fill_value=-850.0),
        outputs=(OutputSpec("logits", "(N, 2)"), OutputSpec("cam", "(N, 2, 8, 8, 8)")),
        labels=("background", "nodule"), operating_points=(OperatingPoint("nodule", 0.5, 0.5, 0.5),),
        explanation="cam_output", training_data=TrainingData(name="none (constant)", licence="Apache-2.0"),
    )
    write_package(tmp_path / "models" / "nodule-constant", tmp_path / "nodule.onnx", package)
    monkeypatch.setenv("RADSIGHT_MODELS_DIR", str(tmp_path / "models"))
    subset = tmp_path / "subset.csv"
    subset.write_text("id\nLIDC-IDRI-0003_R_3\nLIDC-IDRI-0001_R_1\nLIDC-IDRI-0003_R_2\n")
    out = tmp_path / "out"
    assert main(["validate", "--model", "nodule-constant", "--data", str(vois), "--out", str(out),
                 "--subset-file", str(subset), "--bootstrap", "100"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    values = {k: v["value"] for k, v in result["metrics"].items()}
    # Every candidate scores 0.95 >= 0.5: each nodule is found; every structure point is a false positive.
    # Each of these crops holds more than 4 voxels above -500 HU at least r + 4 mm from its nodule
    # (checked below), so 4 structure points per crop -> 4 FP per crop.
    # FROC: (0 FP, 0) at threshold inf, then (4 FP, 1.0) at 0.95. Linear interpolation gives r / 4 below
    # 4 FP: (1/32 + 1/16 + 1/8 + 1/4 + 1/2 + 1 + 1) / 7 for CPM.
    assert result["n"] == 3
    assert values["lesion_sensitivity"] == 1.0 and values["fp_per_scan"] == 4.0
    assert values["froc_cpm"] == pytest.approx((1 / 32 + 1 / 16 + 1 / 8 + 1 / 4 + 1 / 2 + 1 + 1) / 7)
    assert result["details"]["bootstrap"]["unit"] == "group (patient/scan)"  # resampled by patient
    assert (out / "froc.png").is_file()
    import SimpleITK as sitk

    for voi in ("LIDC-IDRI-0003_R_3", "LIDC-IDRI-0001_R_1", "LIDC-IDRI-0003_R_2"):
        img = sitk.ReadImage(str(vois / "image" / f"{voi}.nii.gz"))
        hu = sitk.GetArrayFromImage(img)
        mask = sitk.GetArrayFromImage(sitk.ReadImage(str(vois / "nodule_mask" / f"{voi}.nii.gz"))) > 0
        spacing = np.array(img.GetSpacing()[::-1])
        centre = np.argwhere(mask).mean(axis=0) * spacing
        dist = np.linalg.norm(np.argwhere(hu > -500) * spacing - centre, axis=1)
        diameter = {"LIDC-IDRI-0003_R_3": 8.79, "LIDC-IDRI-0001_R_1": 23.35, "LIDC-IDRI-0003_R_2": 21.45}[voi]
        assert np.sum(dist >= diameter / 2 + 4) > 4


def test_validate_tumour_agrees_with_direct_pipeline_run(shared_data: Path, tmp_path: Path) -> None:
    """The shipped tumour model: validate's accuracy equals the pipeline run by hand on the same slices."""
    package_dir = SHIPPED / "tumour-mri"
    data = shared_data / "labelled" / "brain-tumor-mri"
    if not (package_dir / "model.json").is_file():
        pytest.skip(f"shipped model 'tumour-mri' not present yet ({package_dir}/model.json missing)")
    if not data.is_dir():
        pytest.skip(f"labelled data set not found at {data}")
    from ai.analysis import run_pipeline
    from ai.datasets import read_brain_tumor
    from ai.package import load_package
    from viewer.analysis import read_image_input

    records = evenly_spaced(read_brain_tumor(data), 12)
    package = load_package(package_dir)

    def named_type(path: Path) -> str:
        result = run_pipeline(package, read_image_input(path, "MR"))
        return result.findings[0].label if result.findings else "no tumour"

    correct = [named_type(r.path) == r.label for r in records]
    out = tmp_path / "out"
    assert main(["validate", "--model", "tumour-mri", "--data", str(data), "--out", str(out), "--limit", "12",
                 "--bootstrap", "50"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    assert result["n"] == 12
    assert result["metrics"]["accuracy"]["value"] == pytest.approx(sum(correct) / 12)


def _subset_metrics(cases: list[dict], threshold: float | None) -> dict[str, float]:
    """What a card's ``subset_check.json`` per-case records imply for the metrics validate reports."""
    out: dict[str, float] = {}
    if all("predicted" in c and "label" in c for c in cases):
        out["accuracy"] = float(np.mean([c["predicted"] == c["label"] for c in cases]))
    if all("iou" in c for c in cases):
        out["iou50_recall"] = float(np.mean([c["iou"] >= 0.5 for c in cases]))
    flags = [c["cam_in_box"] for c in cases if c.get("cam_in_box") is not None]  # None: no box to hit
    if flags:
        out["cam_in_box"] = float(np.mean([bool(f) for f in flags]))
    if threshold is not None and all("score" in c and "centre_zyx_1mm" in c for c in cases):
        out["lesion_sensitivity"] = float(np.mean([c["score"] >= threshold for c in cases]))
    return out


def _per_case_agreement(cases: list[dict], rows: dict[str, dict[str, str]]) -> None:
    """Per-case answers in validate's ``cases.csv`` equal the card's ``subset_check.json`` records."""
    for c in cases:
        row = rows[str(c["id"])]
        if "predicted" in c:
            assert row["predicted"] == c["predicted"], c["id"]
        if c.get("cam_in_box") is not None:
            assert row["cam_hit"] == str(bool(c["cam_in_box"])), c["id"]
        if "score" in c and "centre_zyx_1mm" in c:  # nodule: the lesion-centred patch's score
            assert float(row["lesion_scores"]) == pytest.approx(c["score"], abs=2e-5), c["id"]
        if "probability" in c and "predicted" not in c:  # binary: the positive-class probability
            assert float(row["score"]) == pytest.approx(c["probability"], abs=2e-5), c["id"]


SUBSET_FOLDERS = {"tumour-mri": "brain-tumor-mri", "fracture-radiograph": "fracatlas",
                  "nodule-ct": "lidc-nodule-vois"}


@pytest.mark.parametrize("model", sorted(SUBSET_FOLDERS))
def test_validate_reproduces_card_subset(model: str, shared_data: Path, tmp_path: Path) -> None:
    """The model card's fixed subset (``subset_check.json``): validate gives the same per-case answers and
    the metrics they imply."""
    import csv

    from ai.package import load_package
    from ai.validation.run import operating_threshold

    check = SHIPPED / model / "subset_check.json"
    if not check.is_file():
        pytest.skip(f"shipped model '{model}' has no subset_check.json yet ({check})")
    folder = SUBSET_FOLDERS[model]
    data = shared_data / "labelled" / folder
    if not data.is_dir():
        pytest.skip(f"labelled data set not found at {data}")
    package = load_package(SHIPPED / model)
    threshold = operating_threshold(package)[0] if package.operating_points else None
    cases = json.loads(check.read_text())["cases"]
    expected = _subset_metrics(cases, threshold)
    assert expected, f"{check} holds no per-case fields validate can be compared with"
    subset = tmp_path / "subset.csv"
    subset.write_text("id\n" + "\n".join(str(c["id"]) for c in cases) + "\n")
    out = tmp_path / "out"
    assert main(["validate", "--model", model, "--data", str(data), "--out", str(out),
                 "--subset-file", str(subset), "--bootstrap", "50"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    assert result["n"] == len(cases)
    assert {k: result["metrics"][k]["value"] for k in expected} == pytest.approx(expected, abs=1e-9)
    with (out / "cases.csv").open(newline="") as fh:
        _per_case_agreement(cases, {row["id"]: row for row in csv.DictReader(fh)})
