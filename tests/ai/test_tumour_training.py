"""The tumour training path on a real Br35H slice: the cached-feature forward trains the same network that
is exported, a step moves only the fine-tuned trunk blocks, and the map shift moves the box with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from ai.datasets import read_br35h  # noqa: E402
from ai.pipelines.preprocess2d import letterbox_square  # noqa: E402
from ai.training.common import GRAY_MEAN, GRAY_STD  # noqa: E402
from ai.training.tumour import loss_fn, shift_features  # noqa: E402
from ai.training.tumour_data import SIZE, letterboxed_box  # noqa: E402
from ai.training.tumour_model import FROZEN_BLOCKS, TumourNet, frozen_low  # noqa: E402


@pytest.fixture(scope="module")
def slice_and_box(shared_data: Path) -> tuple:
    folder = shared_data / "labelled" / "br35h"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    record = next(r for r in read_br35h(folder) if r.boxes)
    image = letterbox_square(record.load().array, SIZE)[0].astype(np.float32) / 255
    return torch.from_numpy(image)[None, None], torch.tensor([letterboxed_box(record)])


@pytest.fixture(scope="module")
def net() -> TumourNet:
    torch.manual_seed(0)
    return TumourNet(3, SIZE).eval()


def _cached(net: TumourNet, image: torch.Tensor) -> tuple:
    early = net.trunk.early((image - GRAY_MEAN) / GRAY_STD)
    return early, frozen_low(net.trunk, early)


def test_cached_path_is_the_exported_network(net, slice_and_box) -> None:
    image, _ = slice_and_box
    with torch.no_grad():
        full = net(image)
        cached = net.forward_low(*_cached(net, image))
    for a, b in zip(full, cached, strict=True):
        assert torch.equal(a, b)


def test_a_step_moves_the_fine_tuned_blocks_only(slice_and_box) -> None:
    torch.manual_seed(0)
    net = TumourNet(3, SIZE)
    image, box = slice_and_box
    with torch.no_grad():
        early, low = _cached(net, image.repeat(2, 1, 1, 1))
    net.trunk.requires_grad_(False)
    for p in net.trunk_trained():
        p.requires_grad_(True)
    before = {n: p.detach().clone() for n, p in net.trunk.named_parameters()}
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    net.train()
    net.trunk.frozen_eval(FROZEN_BLOCKS)
    batch = {"box": box.repeat(2, 1), "has_box": torch.tensor([True, True]),
             "presence": torch.tensor([1, 1]), "type": torch.tensor([-100, -100]),
             "weight": torch.ones(2)}
    loss_fn(net, early, low, batch).backward()
    opt.step()
    moved = {n for n, p in net.trunk.named_parameters() if not torch.equal(p, before[n])}
    blocks = {int(n.split(".")[1]) for n in moved if n.startswith("blocks.")}
    assert blocks == set(range(FROZEN_BLOCKS, len(net.trunk.blocks)))
    assert any(n.startswith("head.") for n in moved)
    assert not any(n.startswith("stem.") for n in moved)


def test_shifted_maps_carry_the_box(slice_and_box) -> None:
    _, box = slice_and_box
    early = torch.zeros(64, 40, SIZE // 8, SIZE // 8)
    low = torch.zeros(64, 80, SIZE // 16, SIZE // 16)
    cell = box[0, :2].mul(SIZE // 16).long()
    low[:, :, cell[1], cell[0]] = 1.0  # a marker at the box centre's stride-16 cell
    _, moved_low, moved = shift_features(early, low, box.repeat(64, 1), torch.Generator().manual_seed(0))
    shift = (moved[:, :2] - box[:, :2]) * (SIZE // 16)
    assert shift.abs().max() > 0.5  # some maps moved
    for i in range(64):
        dx, dy = (int(v) for v in shift[i].round())
        assert moved_low[i, 0, cell[1] + dy, cell[0] + dx] == 1.0
    assert torch.allclose(moved[:, 2:], box[:, 2:].expand(64, 2))


def test_box_head_geometry_returns_the_box_its_cells_describe() -> None:
    """Cells that each predict the exact distances to one box's sides pool to that box, whatever their
    centredness; the centredness target peaks at the box centre and is zero outside the box."""
    from ai.training.tumour_model import box_targets, cell_boxes, cell_centres, corners_to_cxcywh

    target = torch.tensor([[0.4, 0.55, 0.3, 0.2]])
    h = w = SIZE // 8
    gx, gy = cell_centres(h, w, torch.float32)
    x0, y0, x1, y1 = 0.25, 0.45, 0.55, 0.65
    maps = torch.zeros(1, 5, h, w)
    maps[0, 0] = torch.randn(h, w)
    maps[0, 1], maps[0, 2] = (gx - x0).expand(1, h, w)[0], (gy - y0).expand(1, h, w)[0]
    maps[0, 3], maps[0, 4] = (x1 - gx).expand(1, h, w)[0], (y1 - gy).expand(1, h, w)[0]
    weight = torch.softmax(maps[0, 0].flatten(), 0).reshape(1, 1, h, w)
    pooled = corners_to_cxcywh((cell_boxes(maps) * weight).sum(dim=(2, 3)))
    assert torch.allclose(pooled, target, atol=1e-5)
    centredness, inside = box_targets(target, h, w)
    row, col = int(0.55 * h), int(0.4 * w)
    assert centredness[0, row, col] == centredness.max() and centredness.max() > 0.8
    assert inside[0].sum() == ((gx > x0) & (gx < x1) & (gy > y0) & (gy < y1)).sum()
    assert (centredness[~inside] == 0).all()


def test_an_averaged_export_is_the_mean_of_its_networks(slice_and_box) -> None:
    """``TumourExport`` with a further member: each output is the mean of the two networks' outputs
    (the frozen blocks shared), the OOD distance the first network's."""
    from ai.training.ood_fit import MahalanobisHead
    from ai.training.tumour_export import TumourExport

    image, _ = slice_and_box
    torch.manual_seed(1)
    a, b = TumourNet(3, SIZE).eval(), TumourNet(3, SIZE).eval()
    b.trunk.blocks[:FROZEN_BLOCKS].load_state_dict(a.trunk.blocks[:FROZEN_BLOCKS].state_dict())
    b.trunk.stem.load_state_dict(a.trunk.stem.state_dict())
    guard = MahalanobisHead(np.zeros(224), np.eye(224))
    with torch.no_grad():
        both = TumourExport(a, guard, (b,))(image)
        alone = TumourExport(a, guard)(image)
        other = TumourExport(b, guard)(image)
    for mean, x, y in zip(both[:4], alone[:4], other[:4], strict=True):
        assert torch.allclose(mean, (x + y) / 2, atol=1e-5)
    assert not torch.allclose(alone[3], other[3])  # the two networks do differ
    assert torch.equal(both[4], alone[4])
