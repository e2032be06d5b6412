"""Series loading speed and memory: RadSight's loader against SimpleITK, in the same run.

    .venv/bin/python bench/load.py [SERIES_FOLDER] [--compressed FOLDER] [--runs N]

Default series: ../shared/data/dicom/lidc-idri-0314/series (275 × 512², uncompressed) and, for
the compressed case, ../shared/data/dicom/lidc-idri-0001/series (133 × 512², JPEG-LS lossless).
Every loader reads the same files from the page cache (one warm-up read first), interleaved so
that background load hits both alike. The decode pool is started (and timed) before the runs,
as the app starts it when its index finds compressed images. Prints a table, then
machine-readable ``name value`` lines (``compressed_`` prefix for the JPEG-LS series):

- ``load_ratio_vs_simpleitk``: median RadSight load time (folder → Volume, headers included) /
  median SimpleITK ImageSeriesReader time (GetGDCMSeriesFileNames + Execute).
- ``first_slice_ms``: from ``load_series(series)`` on an already indexed series (what the viewer
  does after its study browser has listed the folder) to the first decoded slice.
- ``first_slice_from_folder_ms``: the same from a bare folder path (indexing included).
- ``load_cpu_ratio_vs_simpleitk``: the same for CPU seconds, this process and its decoder
  workers together (``psutil``): less sensitive to other jobs on the machine than wall time.
- ``peak_mem_ratio``: peak traced allocation in this process during a load / the bytes of the
  stored integers (rows × columns × slices × 2). Decoder worker processes are not traced: their
  resident memory is printed as ``decode_workers_rss_mb``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import SimpleITK as sitk

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from viewer.core import decode_pool  # noqa: E402
from viewer.core.dicom_index import index_path  # noqa: E402
from viewer.core.series_loader import load_series  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "dicom" / "lidc-idri-0314" / "series"
COMPRESSED = REPO.parent / "shared" / "data" / "dicom" / "lidc-idri-0001" / "series"


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its children (the decoder workers)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def timed(load: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one load."""
    cpu, started = cpu_seconds(), time.perf_counter()
    load()
    return time.perf_counter() - started, cpu_seconds() - cpu


def time_simpleitk(folder: Path) -> tuple[float, float]:
    def load() -> None:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        reader.Execute()

    return timed(load)


def time_radsight(folder: Path) -> tuple[float, float]:
    return timed(lambda: load_series(folder))


def first_slice_ms(source: object) -> float:
    marks: list[float] = []
    started = time.perf_counter()
    load_series(source, on_slice=lambda k, done, total: marks.append(time.perf_counter())
                if not marks else None)
    return (marks[0] - started) * 1000


def peak_memory_ratio(folder: Path) -> tuple[float, int, str]:
    """Peak traced bytes during a load / the stored integers' bytes; and the voxel type."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    result = load_series(folder)
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    stored = result.volume.voxels.size * 2  # 16-bit stored values
    return peak / stored, stored, str(result.volume.voxels.dtype)


def workers_rss_mb() -> float:
    import psutil

    children = psutil.Process().children(recursive=True)
    return sum(child.memory_info().rss for child in children) / 1e6


def bench_series(folder: Path, runs: int) -> dict[str, float]:
    time_simpleitk(folder), time_radsight(folder)  # warm the page cache
    sitk_runs, our_runs = [], []
    for _ in range(runs):  # interleaved, so background load hits both alike
        sitk_runs.append(time_simpleitk(folder))
        our_runs.append(time_radsight(folder))
    sitk_times, ours = [w for w, _ in sitk_runs], [w for w, _ in our_runs]
    sitk_cpu = statistics.median(c for _, c in sitk_runs)
    our_cpu = statistics.median(c for _, c in our_runs)
    series = index_path(folder).series[0]
    first_indexed = statistics.median(first_slice_ms(series) for _ in range(runs))
    first_folder = statistics.median(first_slice_ms(folder) for _ in range(3))
    mem_ratio, stored_bytes, dtype = peak_memory_ratio(folder)
    print(f"series: {folder} ({series.frame_count} frames, {series.frames[0].transfer_syntax_uid}),"
          f" {runs} runs each, medians; volume {dtype}")
    print(f"{'loader':34} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7}")
    for name, times, cpu in (("SimpleITK ImageSeriesReader", sitk_times, sitk_cpu),
                             ("RadSight load_series", ours, our_cpu)):
        print(f"{name:34} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f}"
              f" {cpu:7.3f}")
    print(f"first slice, indexed series: {first_indexed:.1f} ms; from folder: {first_folder:.1f} ms")
    print(f"peak traced memory during load: {mem_ratio:.2f} x stored integers "
          f"({stored_bytes / 1e6:.0f} MB)\n")
    return {"load_ratio_vs_simpleitk": statistics.median(ours) / statistics.median(sitk_times),
            "load_cpu_ratio_vs_simpleitk": our_cpu / sitk_cpu,
            "first_slice_ms": first_indexed, "first_slice_from_folder_ms": first_folder,
            "peak_mem_ratio": mem_ratio}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--compressed", type=Path, default=COMPRESSED)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for folder in (args.folder, args.compressed):
        if not folder.is_dir():
            print(f"series folder not found: {folder}", file=sys.stderr)
            return 1
    started = time.perf_counter()
    decode_pool.warm_up()
    pool_ms = (time.perf_counter() - started) * 1000
    print(f"decode pool: {decode_pool.worker_count()} worker processes started in {pool_ms:.0f} ms\n")
    results = bench_series(args.folder, args.runs)
    compressed = bench_series(args.compressed, args.runs)
    results.update({f"compressed_{name}": value for name, value in compressed.items()})
    results["decode_pool_start_ms"] = pool_ms
    results["decode_workers_rss_mb"] = workers_rss_mb()
    results["load_average_1min"] = os.getloadavg()[0]
    for name, value in results.items():
        print(f"{name} {value:.3f}" if "ratio" in name else f"{name} {value:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
