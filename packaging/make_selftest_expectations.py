"""Records what ``radsight selftest`` expects, in resources/selftest/expectations.json.

Runs every shipped model through the analysis service on its bundled input (the same code path
the self-test uses) and writes the scores it gives now, with the model's SHA-256, plus the SHA-256
of the reference pixels of the transfer-syntax files. Run it again whenever a shipped model or a
self-test input changes (from the repository root):

    PYTHONPATH=$PWD .venv/bin/python packaging/make_selftest_expectations.py

Review the printed results before committing: they become the self-test's fixed expectations.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ai.registry import ModelRegistry  # noqa: E402
from viewer.core.series_loader import load_series  # noqa: E402
from viewer.selftest.decode_checks import voxels_sha256  # noqa: E402
from viewer.selftest.expectations import EXPECTATIONS, ModelCase, selftest_dir  # noqa: E402
from viewer.selftest.model_checks import run_case  # noqa: E402
from viewer.selftest.nodule_marked import contour_box  # noqa: E402

TOLERANCE = 0.02
# model → (input relative to resources/selftest, declared modality or None)
INPUTS = {
    "nodule-ct": ("../sample/lidc-idri-0314-nodule-slab", None),
    "fracture-radiograph": ("radiograph-fracatlas-IMG0000599.jpg", "DX"),
    "tumour-mri": ("mri-brain-tumor-meningioma-134.jpg", "MR"),
}
CONTOURS = "../sample/nodule_contours.csv"  # relative to resources/selftest


def record(registry: ModelRegistry, name: str, source: str, modality: str | None) -> dict:
    package = registry.load(name)
    case = ModelCase(name, source, package.sha256, modality)
    run = run_case(registry, case)
    entry = {"model": name, "input": source, "model_sha256": package.sha256, "modality": modality}
    if name == "nodule-ct":
        box = contour_box((selftest_dir() / CONTOURS).resolve())
        marked = [f for f in run.findings if f.marked and box.holds(f)]
        if not marked:
            raise SystemExit("nodule-ct does not mark the sample's nodule: not recording that")
        entry.update(marked_inside=CONTOURS, label="nodule", score=round(max(f.score for f in marked), 4))
    else:
        probabilities = {k: round(v, 4) for k, v in run.probabilities.items()}
        entry.update(label=max(probabilities, key=probabilities.__getitem__), probabilities=probabilities)
    print(f"{name} on {source}: {entry.get('score') or entry['probabilities']} ({run.provider})")
    return entry


def main() -> int:
    registry = ModelRegistry()
    builtin = sorted(e.name for e in registry.entries() if e.source == "builtin")
    missing = [name for name in builtin if name not in INPUTS]
    if missing:
        print(f"no self-test input chosen for {', '.join(missing)}: add it to INPUTS", file=sys.stderr)
        return 1
    cases = [record(registry, name, *INPUTS[name]) for name in builtin]
    reference = load_series(selftest_dir() / "transfer-syntaxes" / "implicit-little-endian.dcm").volume
    document = {"generated_by": "packaging/make_selftest_expectations.py", "tolerance": TOLERANCE,
                "cases": cases, "decode": {"reference": "transfer-syntaxes/implicit-little-endian.dcm",
                                           "shape": list(reference.shape),
                                           "voxels_sha256": voxels_sha256(reference.voxels)}}
    path = selftest_dir() / EXPECTATIONS
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
