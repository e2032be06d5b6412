"""AI results as DICOM and anonymised export on LIDC-0314: time and size.

    .venv/bin/python bench/dicom_out.py [SERIES_FOLDER] [--runs N]

Default series: ../shared/data/dicom/lidc-idri-0314/series (275 × 512², uncompressed). One
finding with a 20 × 30 × 30 voxel mask and a map over its box (made up: the writers do not look at
what the values mean). Prints ``name value`` lines (medians of N runs, seconds / MB):

- ``read_source_s``: the series' headers (no pixels) read for the writers.
- ``sr_s``, ``seg_s``, ``map_s``: building and saving sr.dcm, seg.dcm, one parametric map.
- ``export_s``, ``export_cpu_s``: `radsight export --anonymise` of the whole series (wall, CPU).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ai.findings import Finding  # noqa: E402
from viewer.core.dicom_index import index_path  # noqa: E402
from viewer.core.series_loader import load_series  # noqa: E402
from viewer.dicom_out.anonymise import export_anonymised  # noqa: E402
from viewer.dicom_out.map_export import build_map  # noqa: E402
from viewer.dicom_out.seg_export import build_seg  # noqa: E402
from viewer.dicom_out.source import read_source  # noqa: E402
from viewer.dicom_out.sr_export import build_sr  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "dicom" / "lidc-idri-0314" / "series"


def timed(action) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = action()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def finding_on(volume) -> tuple[Finding, np.ndarray]:
    box = (100.0, 230.0, 170.0, 120.0, 260.0, 200.0)
    heat = np.zeros(volume.shape, np.float32)
    heat[100:120, 230:260, 170:200] = 0.7
    finding = Finding(model="bench", model_version="0", label="nodule", score=0.9,
                      passes_operating_point=True, threshold=0.5, center_kji=(109.5, 244.5, 184.5),
                      size_mm=(20.0, 23.4, 23.4), box_kji=box, mask=np.ones((20, 30, 30), bool),
                      series_instance_uid=volume.series_instance_uid)
    return finding, heat


def one_run(record, volume, out: Path) -> dict[str, float]:
    seconds: dict[str, float] = {}
    seconds["read_source_s"], _, source = timed(lambda: read_source(record.files, volume))
    finding, heat = finding_on(volume)
    builders = (("sr", lambda: build_sr([finding], source)), ("seg", lambda: build_seg([finding], source)),
                ("map", lambda: build_map(finding, heat, source)))
    for name, build in builders:
        seconds[f"{name}_s"], _, _ = timed(lambda b=build, n=name: b().save_as(out / f"{n}.dcm"))
        seconds[f"{name}_mb"] = (out / f"{name}.dcm").stat().st_size / 1e6
    export = out / "export"
    seconds["export_s"], seconds["export_cpu_s"], _ = timed(lambda: export_anonymised(record.files, export))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    record = index_path(args.series).series[0]
    volume = load_series(record).volume
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            runs.append(one_run(record, volume, Path(folder)))
    print(f"series: {args.series} ({len(record.files)} files), runs: {args.runs}")
    for key in runs[0]:
        print(f"{key} {statistics.median(r[key] for r in runs):.3f}")


if __name__ == "__main__":
    main()
