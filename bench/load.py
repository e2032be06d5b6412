"""Series loading speed and memory: RadSight's loader against SimpleITK, in the same run.

    .venv/bin/python bench/load.py [SERIES_FOLDER] [--runs N]

Default series: ../shared/data/dicom/lidc-idri-0314/series (275 × 512², uncompressed).
Every loader reads the same files from the page cache (one warm-up read first). Prints a table,
then machine-readable ``name value`` lines:

- ``load_ratio_vs_simpleitk``: median RadSight load time (folder → Volume, headers included) /
  median SimpleITK ImageSeriesReader time (GetGDCMSeriesFileNames + Execute).
- ``first_slice_ms``: from ``load_series(series)`` on an already indexed series (what the viewer
  does after its study browser has listed the folder) to the first decoded slice.
- ``first_slice_from_folder_ms``: the same from a bare folder path (indexing included).
- ``peak_mem_ratio``: peak traced allocation during a load / the volume's bytes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import SimpleITK as sitk

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from viewer.core.dicom_index import index_path  # noqa: E402
from viewer.core.series_loader import load_series  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "dicom" / "lidc-idri-0314" / "series"


def time_simpleitk(folder: Path) -> float:
    started = time.perf_counter()
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    reader.Execute()
    return time.perf_counter() - started


def time_radsight(folder: Path) -> float:
    started = time.perf_counter()
    load_series(folder)
    return time.perf_counter() - started


def first_slice_ms(source: object) -> float:
    marks: list[float] = []
    started = time.perf_counter()
    load_series(source, on_slice=lambda k, done, total: marks.append(time.perf_counter())
                if not marks else None)
    return (marks[0] - started) * 1000


def peak_memory_ratio(folder: Path) -> tuple[float, int]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    result = load_series(folder)
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    return peak / result.volume.nbytes, result.volume.nbytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"series folder not found: {args.folder}", file=sys.stderr)
        return 1
    time_simpleitk(args.folder), time_radsight(args.folder)  # warm the page cache
    sitk_times, ours = [], []
    for _ in range(args.runs):  # interleaved, so background load hits both alike
        sitk_times.append(time_simpleitk(args.folder))
        ours.append(time_radsight(args.folder))
    series = index_path(args.folder).series[0]
    first_indexed = statistics.median(first_slice_ms(series) for _ in range(args.runs))
    first_folder = statistics.median(first_slice_ms(args.folder) for _ in range(3))
    mem_ratio, volume_bytes = peak_memory_ratio(args.folder)
    sitk_med, ours_med = statistics.median(sitk_times), statistics.median(ours)

    print(f"series: {args.folder} ({series.frame_count} frames), {args.runs} runs each, medians")
    print(f"{'loader':34} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, times in (("SimpleITK ImageSeriesReader", sitk_times), ("RadSight load_series", ours)):
        print(f"{name:34} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f}")
    print(f"first slice, indexed series: {first_indexed:.1f} ms; from folder: {first_folder:.1f} ms")
    print(f"peak traced memory during load: {mem_ratio:.2f} x volume ({volume_bytes / 1e6:.0f} MB)")
    print(f"load_ratio_vs_simpleitk {ours_med / sitk_med:.3f}")
    print(f"first_slice_ms {first_indexed:.1f}")
    print(f"first_slice_from_folder_ms {first_folder:.1f}")
    print(f"peak_mem_ratio {mem_ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
