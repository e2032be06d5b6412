"""Latency of the three shipped models through the engine (``ai.analysis.run_pipeline``) on CPU.

Cases: one brain-MRI slice (tumour-mri), one FracAtlas radiograph (fracture-radiograph), and the whole
LIDC-0314 CT (nodule-ct; DICOM loading excluded), all read through the product's one input path
(viewer.core readers → ``viewer.analysis`` → ImageInput, as analyze and the viewer). Each pipeline
run includes preprocessing, the onnxruntime session (CPUExecutionProvider, 2 threads) and
post-processing with its explanation map.

    .venv/bin/python bench/models.py [--runs 20] [--scan-runs 3]

Last lines, ``name value``: ``tumour_slice_ms``, ``fracture_image_ms``, ``nodule_scan_s`` (medians).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ai.analysis import run_pipeline  # noqa: E402
from ai.image import ImageInput  # noqa: E402
from ai.package import load_package  # noqa: E402
from ai.runtime import get_session  # noqa: E402
from viewer.analysis import image_input, read_image_input  # noqa: E402
from viewer.core.series_loader import load_series  # noqa: E402

DATA = REPO.parent / "shared" / "data"
MODELS = REPO / "resources" / "models"


def timed(fn, runs: int) -> list[float]:
    fn()  # warm-up (session creation, first-run allocations)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def image_2d(path: Path, modality: str) -> ImageInput:
    """The product's one input path (viewer.core reader → ImageInput), as analyze and the viewer."""
    return read_image_input(path, modality)


def ct_0314() -> ImageInput:
    return image_input(load_series(DATA / "dicom" / "lidc-idri-0314" / "series").volume)


def report(name: str, times: list[float], unit: float, label: str) -> float:
    med = statistics.median(times) * unit
    print(f"{name:<28} median {med:8.1f} {label}  min {min(times) * unit:8.1f}  max {max(times) * unit:8.1f}"
          f"  ({len(times)} runs)")
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scan-runs", type=int, default=3)
    args = parser.parse_args()
    cases = {
        "tumour-mri": (image_2d(DATA / "labelled/brain-tumor-mri/glioma/1841.jpg", "MR"),
                       args.runs, 1e3, "ms"),
        "fracture-radiograph": (image_2d(DATA / "labelled/fracatlas/images/Fractured/IMG0000019.jpg", "DX"),
                                args.runs, 1e3, "ms"),
        "nodule-ct": (ct_0314(), args.scan_runs, 1.0, "s"),
    }
    medians = {}
    for name, (image, runs, unit, label) in cases.items():
        package = load_package(MODELS / name)
        session = get_session(package.onnx_path)
        times = timed(lambda p=package, i=image, s=session: run_pipeline(p, i, session=s), runs)
        medians[name] = report(name, times, unit, label)
        print(f"  provider: {session.provider}")
    print(f"tumour_slice_ms {medians['tumour-mri']:.1f}")
    print(f"fracture_image_ms {medians['fracture-radiograph']:.1f}")
    print(f"nodule_scan_s {medians['nodule-ct']:.2f}")


if __name__ == "__main__":
    main()
