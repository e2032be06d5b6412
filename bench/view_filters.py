"""Cost of the display-only view filters (``viewer.core.view_filters``) on one LIDC-0314 slice.

    .venv/bin/python bench/view_filters.py [--runs 5]

Each filter runs on the middle 512² slice (HU, float32), interleaved in the same loop with a
reference: windowing the same slice to 8 bits (``viewer.core.windowing.apply_window``, one frame's
work in the slice view), so that the ratio stays fair on a busy machine. Medians over the runs.
A filtered slice is computed once per slice and cached by the view; W/L then costs what it did.
The last lines are machine-readable, one ``name value`` per line.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LIDC = REPO.parent / "shared" / "data" / "dicom" / "lidc-idri-0314" / "series"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from viewer.core.series_loader import load_series
    from viewer.core.view_filters import FILTERS
    from viewer.core.windowing import Window, apply_window

    volume = load_series(LIDC).volume
    plane = volume.voxels[volume.shape[0] // 2].astype("float32")
    window = Window(-450, 2000)
    times: dict[str, list[float]] = {"window (reference)": [], **{name: [] for name in FILTERS}}
    for _ in range(args.runs):
        for name in times:
            start = time.perf_counter()
            apply_window(plane, window, False) if name not in FILTERS else FILTERS[name](plane)
            times[name].append(time.perf_counter() - start)
    reference = statistics.median(times["window (reference)"])
    print(f"LIDC-0314 slice {plane.shape[0]}x{plane.shape[1]}, {args.runs} runs, medians")
    print(f"{'step':28s} {'median ms':>10s} {'x reference':>12s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:28s} {median * 1000:10.1f} {median / reference:12.1f}")
    for name in FILTERS:
        key = name.split("(")[1].rstrip(")").split()[0].lower()
        print(f"filter_{key}_ms {statistics.median(times[name]) * 1000:.1f}")


if __name__ == "__main__":
    main()
