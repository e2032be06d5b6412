"""Done-when of issue 10: what `radsight analyze` computes is what `radsight validate` measured.

30 FracAtlas radiographs and 30 brain MRI slices of the shipped models' test splits: `radsight analyze`
(the product: viewer.core reader → ImageInput → pipeline) and `radsight validate --subset-file` on the
same ids give the same scores (to 1e-5) and the same labels. All four runs in this one process.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from ai.registry import builtin_models_dir
from viewer.cli import main

N_PER_SET = 30
SETS = {  # model: (labelled folder, declared modality)
    "fracture-radiograph": ("fracatlas", "DX"),
    "tumour-mri": ("brain-tumor-mri", "MR"),
}


def split_ids(model: str, n: int = N_PER_SET) -> list[str]:
    """``n`` ids of the model's test split, evenly spread over it (stable)."""
    with (builtin_models_dir() / model / "split.csv").open(newline="") as fh:
        ids = [row["id"] for row in csv.DictReader(fh) if row["split"] == "test"]
    step = len(ids) / n
    return [ids[int(i * step)] for i in range(n)]


def image_paths(root: Path, ids: list[str]) -> dict[str, Path]:
    wanted = set(ids)
    found = {p.stem: p for p in root.rglob("*.jpg") if p.stem in wanted}
    assert set(found) == wanted, f"ids missing under {root}: {sorted(wanted - set(found))[:5]}"
    return found


def analyze_folder(tmp_path: Path, model: str, images: dict[str, Path], modality: str) -> dict[str, dict]:
    """`radsight analyze` on a folder of links to the images: per id, the model's probabilities."""
    folder, out = tmp_path / f"{model}-images", tmp_path / f"{model}-analyze"
    folder.mkdir()
    for stem, path in images.items():
        (folder / f"{stem}.jpg").symlink_to(path.resolve())
    assert main(["analyze", str(folder), "--model", model, "--modality", modality, "--out", str(out)]) == 0
    document = json.loads((out / "findings.json").read_text())
    by_id = {}
    for series in document["series"]:
        [run] = series["models"]
        by_id[Path(series["key"]).stem] = run["probabilities"]
    return by_id


def validate_subset(tmp_path: Path, model: str, data: Path, ids: list[str]) -> dict[str, dict[str, str]]:
    """`radsight validate --subset-file` on the same ids: its cases.csv rows by id."""
    subset, out = tmp_path / f"{model}-ids.csv", tmp_path / f"{model}-validate"
    subset.write_text("id\n" + "\n".join(ids) + "\n")
    assert main(["validate", "--model", model, "--data", str(data), "--subset-file", str(subset),
                 "--out", str(out), "--bootstrap", "20"]) == 0
    with (out / "cases.csv").open(newline="") as fh:
        return {row["id"]: row for row in csv.DictReader(fh)}


def probabilities_of(cell: str) -> dict[str, float]:
    return {label: float(p) for label, p in (part.split("=") for part in cell.split("|"))}


def decided_label(model: str, probabilities: dict[str, float]) -> str:
    """The label the product shows: the most probable one; for a model that can say "no tumour", the most
    probable type where the presence (1 − P(no tumour)) reaches its operating point, else "no tumour"."""
    if "no tumour" not in probabilities:
        return max(probabilities, key=probabilities.__getitem__)
    from ai.package import load_package
    from ai.pipelines.tumour import presence_threshold

    threshold = presence_threshold(load_package(builtin_models_dir() / model))
    if 1 - probabilities["no tumour"] < threshold:
        return "no tumour"
    types = {k: v for k, v in probabilities.items() if k != "no tumour"}
    return max(types, key=types.__getitem__)


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(SETS))
def test_analyze_equals_validate_on_the_same_images(model: str, shared_data: Path, tmp_path: Path) -> None:
    folder, modality = SETS[model]
    data = shared_data / "labelled" / folder
    if not data.is_dir():
        pytest.skip(f"labelled set not found at {data}")
    if not (builtin_models_dir() / model / "model.json").is_file():
        pytest.skip(f"shipped model {model} not installed")
    ids = split_ids(model)
    analysed = analyze_folder(tmp_path, model, image_paths(data, ids), modality)
    measured = validate_subset(tmp_path, model, data, ids)
    assert sorted(analysed) == sorted(measured) == sorted(ids)
    for case_id in ids:
        product, row = analysed[case_id], measured[case_id]
        if not product:  # not scored (out-of-distribution guard): validate scored nothing either
            assert not row["probabilities"] and row["predicted"] in ("", "no tumour"), case_id
            assert float(row["score"] or 0.0) == 0.0, case_id
        elif row["score"]:  # binary (fracture): the positive class's probability
            assert product["fracture"] == pytest.approx(float(row["score"]), abs=1e-5), case_id
        else:  # type (tumour): every class probability, and the label
            validated = probabilities_of(row["probabilities"])
            assert product == pytest.approx(validated, abs=1e-5), case_id
            assert decided_label(model, product) == row["predicted"], case_id


def test_training_reader_equals_the_product_reader(shared_data: Path) -> None:
    """The training/eval scripts (which may not import the viewer) read labelled JPEGs with
    ``ai.validation.predict.dataset_reader``; it gives the product reader's pixels, dtype included."""
    from ai.validation.predict import dataset_reader
    from viewer.analysis import read_image_input

    checked = 0
    for folder, modality in SETS.values():
        images = sorted((shared_data / "labelled" / folder).rglob("*.jpg"))[:: 200][:6]
        for path in images:
            product, training = read_image_input(path, modality), dataset_reader(path, modality)
            assert product.voxels.dtype == training.voxels.dtype == np.uint8, path
            assert np.array_equal(product.voxels, training.voxels), path
            checked += 1
    if checked == 0:
        pytest.skip("no labelled JPEGs under ../shared/data/labelled")
