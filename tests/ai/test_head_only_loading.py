"""Head-alone trainings start from a trained network without its box head: every other weight comes from
the state dict, the head keeps its fresh initialisation (tumour_box, fracture_head)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from ai.training.fracture_head import HEAD_KEYS, load_without_head  # noqa: E402
from ai.training.fracture_model import FractureNet  # noqa: E402
from ai.training.tumour_box import load_without_box_head  # noqa: E402
from ai.training.tumour_model import TumourNet  # noqa: E402


def _perturbed(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.01)
    return net


@pytest.mark.parametrize(
    ("make", "load", "head"),
    [
        (lambda: FractureNet(320), load_without_head, HEAD_KEYS),
        (lambda: TumourNet(3, 224), load_without_box_head, ("box_head.",)),
    ],
    ids=["fracture", "tumour"],
)
def test_everything_but_the_head_comes_from_the_state_dict(make, load, head, tmp_path: Path) -> None:
    trained = _perturbed(make(), 1)
    path = tmp_path / "trained.pt"
    torch.save(trained.state_dict(), path)
    fresh = _perturbed(make(), 2)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    load(fresh, str(path))
    after, source = fresh.state_dict(), trained.state_dict()
    head_keys = [k for k in after if k.startswith(head)]
    assert head_keys and all(torch.equal(after[k], before[k]) for k in head_keys)
    others = [k for k in after if not k.startswith(head)]
    assert all(torch.equal(after[k], source[k]) for k in others)
    assert any(not torch.equal(before[k], source[k]) for k in others)  # the load did change them
