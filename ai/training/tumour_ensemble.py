"""Validation of an ensemble of tumour networks trained alike: ``python -m ai.training.tumour_ensemble
A.pt B.pt …``.

Prints each member's validation measures (:func:`ai.training.tumour.scores` on the cached plain views) and
those of their mean as :class:`~ai.training.tumour_export.TumourExport` computes it (presence logits, type
logits and boxes averaged), and writes them to ``ensemble_validation.json``. The test splits are not
touched: whether the ensemble ships is decided on these numbers.
"""

from __future__ import annotations

import sys

import numpy as np

from ai.training.common import WORK, save_json, setup
from ai.training.tumour import predict, scores
from ai.training.tumour_data import NAME, load, view_cache
from ai.training.tumour_export import load_net


def mean_outputs(outs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The members' outputs averaged as the exported graph does (presence on the logit scale)."""
    p = np.clip(np.stack([o["presence"] for o in outs]), 1e-7, 1 - 1e-7)
    logit = np.log(p / (1 - p)).mean(axis=0)
    mean = {k: np.stack([o[k] for o in outs]).mean(axis=0) for k in ("logits", "box", "cam")}
    return {"presence": 1 / (1 + np.exp(-logit)), **mean}


def main() -> None:
    setup(NAME)
    paths = sys.argv[1:]
    nets = [load_net(path) for path in paths]
    data = load()
    val = data.split == "val"
    cache = view_cache(nets[0].trunk, data)
    outs = [predict(net, cache["early"][0, val], cache["low"][0, val]) for net in nets]
    report = {str(path): scores(out, data, val) for path, out in zip(paths, outs, strict=True)}
    report["mean"] = scores(mean_outputs(outs), data, val)
    for name, row in report.items():
        print(name, row)
    save_json(WORK / NAME / "ensemble_validation.json", report)


if __name__ == "__main__":
    main()
