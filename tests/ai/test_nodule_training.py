"""Nodule training ↔ shipped package: the patch contract training cuts is the one the shipped model.json
declares; the exported graph is the calibrated mean of its seeds' networks (``nodule_eval.Calibrated``),
and a one-net export loads back into the training network (``python -m ai.training.nodule --init``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shipped import MODELS, verified_package

from ai.pipelines.nodule_patches import TRAINING_SPEC, PatchSpec
from ai.training.nodule_model import NoduleNet, load_onnx_weights


@pytest.fixture(scope="module")
def package():
    return verified_package("nodule-ct")


def test_shipped_patch_contract_is_the_one_training_cuts(package) -> None:
    assert PatchSpec.of(package) == TRAINING_SPEC


def test_shipped_onnx_holds_the_ensemble_its_metrics_name(package) -> None:
    """The shipped graph holds one NoduleNet per seed listed in its metrics.json (five convolutions each),
    and is refused, with a clear error, as the start of a one-net fine-tuning."""
    import json

    import onnx

    members = json.loads((MODELS / "nodule-ct" / "metrics.json").read_text())["ensemble"]
    graph = onnx.load(str(package.onnx_path)).graph
    convs = [i for i in graph.initializer if len(i.dims) == 5]
    blocks = sum(isinstance(m, torch.nn.Sequential) for m in NoduleNet().features)
    assert len(members) >= 2 and len(convs) == blocks * len(members)
    with pytest.raises(ValueError, match="ensemble"):
        load_onnx_weights(NoduleNet(), package.onnx_path)


def test_ensemble_export_is_the_mean_of_its_seeds_and_cannot_seed_one_net(tmp_path) -> None:
    """``nodule_eval.Calibrated`` over two nets: the ONNX graph's logits are their mean logits ÷ the
    temperature, its CAM their mean CAM; such a file is refused as a start for one net (clear error), while
    a one-net export loads back exactly."""
    from ai.training.common import export_onnx
    from ai.training.evaluate import cpu_session
    from ai.training.nodule_eval import Calibrated

    torch.manual_seed(0)
    torch.set_num_threads(1)
    nets = [NoduleNet().eval() for _ in range(2)]
    for net in nets:  # batch norms with statistics of their own, as after training
        for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm3d)):
            bn.running_mean.uniform_(-0.1, 0.1)
            bn.running_var.uniform_(0.5, 2.0)
    x = np.random.default_rng(1).uniform(0, 1, (3, 1) + (TRAINING_SPEC.patch,) * 3).astype(np.float32)
    with torch.no_grad():
        outs = [net(torch.from_numpy(x)) for net in nets]
    example = torch.rand(1, 1, *(TRAINING_SPEC.patch,) * 3)
    export_onnx(Calibrated(nets, 2.0), example, tmp_path / "two.onnx", ["logits", "cam"])
    logits, cam = cpu_session(tmp_path / "two.onnx").run(["logits", "cam"], {"image": x})
    np.testing.assert_allclose(logits, (outs[0][0] + outs[1][0]).numpy() / 2 / 2.0, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cam, (outs[0][1] + outs[1][1]).numpy() / 2, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="ensemble"):
        load_onnx_weights(NoduleNet(), tmp_path / "two.onnx")
    export_onnx(Calibrated(nets[:1], 2.0), example, tmp_path / "one.onnx", ["logits", "cam"])
    with torch.no_grad():
        back = load_onnx_weights(NoduleNet(), tmp_path / "one.onnx").eval()(torch.from_numpy(x))
    np.testing.assert_allclose(back[0].numpy(), outs[0][0].numpy(), rtol=1e-4, atol=1e-5)


def test_scan_patches_get_real_crop_edges_on_about_half(shared_data) -> None:
    """``--crop-fill``: a scan patch is either untouched or filled exactly beyond a real training crop's
    extent (the crop's nodule always inside), about half of each."""
    from ai.datasets import read_lidc_vois
    from ai.training.nodule import CROP_EXTENT_P, crop_extents, like_a_crop
    from ai.training.nodule_data import load_crop

    folder = shared_data / "labelled" / "lidc-nodule-vois"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    crops = [load_crop(r) for r in read_lidc_vois(folder)[:6]]
    extents = crop_extents(crops)
    middle = TRAINING_SPEC.patch // 2
    assert extents[:, middle, middle, middle].all() and not extents.all()
    rng = np.random.default_rng(0)
    scan = [rng.uniform(-900, 300, (TRAINING_SPEC.patch,) * 3).astype(np.float32) for _ in range(200)]
    out = like_a_crop(scan, extents, np.random.default_rng(1))
    filled = [o for o, s in zip(out, scan, strict=True) if not np.array_equal(o, s)]
    assert abs(len(filled) / len(scan) - CROP_EXTENT_P) < 0.15
    for o, s in zip(out, scan, strict=True):
        kept = o == s
        assert (o[~kept] == TRAINING_SPEC.fill_hu).all()
        assert kept.all() or any(np.array_equal(kept, e) for e in extents)


def _scan(name: str, nodule_score: float, false_scores: list[float]):
    from ai.datasets.lidc_scans import ScanTruth
    from ai.datasets.lidc_xml import Nodule
    from ai.validation.nodule_scans import ScanMarks

    truth = ScanTruth([Nodule((0.0, 0.0, 0.0), 10.0, 4, ())], np.zeros((0, 3)))
    centres = np.array([[0.0, 0.0, 0.0]] + [[100.0 + 20 * i, 0.0, 0.0] for i in range(len(false_scores))])
    return ScanMarks(name, centres, np.array([nodule_score, *false_scores]), truth)


def test_cross_threshold_reports_each_scan_at_the_other_scans_threshold() -> None:
    """Scores on two scales (as two leave-one-scan-out models give): the pooled threshold hides it, the
    cross check shows one scan flooded with false marks and the other's nodule lost."""
    from ai.training.nodule_eval import cross_threshold, threshold_for

    low = _scan("low", 0.30, [0.20] * 10 + [0.10] * 4)  # its own threshold: just above 0.20
    high = _scan("high", 0.90, [0.95] * 2 + [0.50] * 20)  # its own threshold: just above 0.50
    assert threshold_for([low, high]) > 0.2
    cross = cross_threshold([low, high])
    assert cross["low"]["threshold"] == pytest.approx(threshold_for([high]))
    assert cross["low"]["lesion_sensitivity"] == 0.0 and cross["low"]["fp_per_scan"] == 0
    assert cross["high"]["lesion_sensitivity"] == 1.0 and cross["high"]["fp_per_scan"] == 22


def test_pasted_nodule_keeps_its_hu_and_never_darkens_the_scan(shared_data) -> None:
    """``--paste``: a real crop's nodule pasted at the centre of a lung-like background keeps its own HU
    inside its mask, leaves every voxel at least as dense as the scan was, and changes nothing far from
    it; a site where the nodule would sit in soft tissue is redrawn on parenchyma."""
    from ai.datasets import read_lidc_vois
    from ai.training.nodule_data import load_crop
    from ai.training.nodule_paste import PasteScan, nodule_weight, paste, pasted_cube
    from ai.training.nodule_scans import CUBE

    folder = shared_data / "labelled" / "lidc-nodule-vois"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    crop = next(c for c in (load_crop(r) for r in read_lidc_vois(folder)[:20]) if c.radius > 4)
    rng = np.random.default_rng(0)
    lung = rng.normal(-850, 20, (CUBE,) * 3).astype(np.float32)
    lung[:, :, 30:] = 40.0  # chest wall on one side
    weight = nodule_weight(crop, CUBE)
    out = paste(lung, crop, weight)
    assert (out >= lung - 1e-3).all()
    assert (out[weight == 0] == lung[weight == 0]).all() and (weight == 0).mean() > 0.5
    from ai.training.nodule_data import extract

    nodule = extract(crop.hu.astype(np.float32), crop.centre, CUBE, fill=-1000.0)
    core = (weight > 0.999) & (nodule > lung)
    np.testing.assert_allclose(out[core], nodule[core], atol=1.5)  # weight ≥ 0.999: within 1.5 HU
    c = CUBE // 2
    volume = np.full((100, 100, 100), -850, np.int16)
    volume[:, :, 50:] = 40  # half the scan is soft tissue; the structure sites lie deep inside it
    scan = PasteScan("synthetic", volume, np.array([[50.0, 50.0, 80.0]] * 5), np.array([[50.0, 50.0, 20.0]]))
    for _ in range(5):
        cube = pasted_cube(scan, crop, rng)
        assert cube[c, c, c] > -850 + 100  # the nodule is visible: it was pasted into lung
        assert cube[0, 0, 0] < -800

