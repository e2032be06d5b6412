"""The Br35H reader and layout, and the box bookkeeping of the tumour training data, on the real set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai.datasets import read_br35h, read_split_csv
from ai.validation.layouts import detect_layout

MODEL_DIR = Path(__file__).resolve().parents[2] / "resources" / "models" / "tumour-mri"


@pytest.fixture(scope="module")
def br35h(shared_data: Path) -> list:
    folder = shared_data / "labelled" / "br35h"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    return read_br35h(folder)


def test_br35h_reader_counts_labels_and_boxes(br35h) -> None:
    yes = [r for r in br35h if r.label_index == 1]
    no = [r for r in br35h if r.label_index == 0]
    assert (len(yes), len(no)) == (353, 391)
    assert all(len(r.boxes) == 1 for r in yes) and not any(r.boxes for r in no)
    record = yes[0]
    h, w = record.load().array.shape
    x0, y0, x1, y1 = record.boxes[0]
    assert 0 <= x0 < x1 <= w + 1 and 0 <= y0 < y1 <= h + 1


def test_br35h_split_keeps_neighbouring_ids_together(br35h) -> None:
    split = read_split_csv(MODEL_DIR / "split_br35h.csv")
    assert set(split) == {r.id for r in br35h}
    by_group: dict[str, set[str]] = {}
    for r in br35h:
        by_group.setdefault(r.split_group, set()).add(split[r.id])
    assert all(len(s) == 1 for s in by_group.values())
    counts = {s: sum(v == s for v in split.values()) for s in ("train", "val", "test")}
    assert counts["test"] >= 90 and counts["val"] >= 90


def test_br35h_layout_is_recognised(shared_data: Path) -> None:
    folder = shared_data / "labelled" / "br35h"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    layout = detect_layout(folder)
    assert (layout.name, layout.target, layout.metric_prefix) == ("br35h", "tumour", "presence_")


def test_letterboxed_box_follows_the_letterbox(br35h) -> None:
    pytest.importorskip("torch")
    from ai.pipelines.preprocess2d import letterbox_square
    from ai.training.tumour_data import SIZE, letterboxed_box

    record = next(r for r in br35h if r.boxes and r.load().array.shape[0] != r.load().array.shape[1])
    array = record.load().array
    _, scale, pad_x, pad_y = letterbox_square(array, SIZE)
    x0, y0, x1, y1 = record.boxes[0]
    cx, cy, bw, bh = letterboxed_box(record)
    assert cx * SIZE == pytest.approx((x0 + x1) / 2 * scale + pad_x, abs=1e-3)
    assert cy * SIZE == pytest.approx((y0 + y1) / 2 * scale + pad_y, abs=1e-3)
    assert (bw * SIZE, bh * SIZE) == pytest.approx(((x1 - x0) * scale, (y1 - y0) * scale), abs=1e-3)
    assert np.isfinite([cx, cy, bw, bh]).all()
