"""``radsight validate`` in whole-scan mode: a nodule model on a folder of annotated full CT series.

Every scan is read by the caller's series reader and analysed by :func:`ai.analysis.run_pipeline` (the
product's path); :mod:`ai.validation.nodule_scans` counts hits and false marks. Writes ``metrics.json``
(``"mode": "scan"``) and ``froc.png`` under the output folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ai.analysis import run_pipeline
from ai.datasets.lidc_scans import find_lidc_scans
from ai.registry import ModelError, ModelRegistry
from ai.validation import plots
from ai.validation.metrics import froc_curve
from ai.validation.nodule_scans import ScanGeometryError, SeriesReader, marks_of, outcome, report
from ai.validation.run import ValidationError, operating_threshold


def is_scan_folder(path: Path) -> bool:
    """Whether ``path`` holds annotated full LIDC series (itself one, or sub-folders that are)."""
    return Path(path).is_dir() and bool(find_lidc_scans(path))


def validate_scans(model: str, data: Path, out: Path, read_series: SeriesReader,
                   registry: ModelRegistry | None = None,
                   progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, Any], list[Path]]:
    """Run ``model`` on every annotated scan under ``data``; metrics.json + froc.png under ``out``."""
    try:
        package = (registry or ModelRegistry()).load(model)
    except ModelError as exc:
        raise ValidationError(str(exc)) from exc
    if package.target != "nodule":
        raise ValidationError(f"model '{package.name}' detects {package.target}; {data} holds CT scans with "
                              "LIDC nodule annotations (for a nodule model)")
    scans = find_lidc_scans(data)
    if not scans:
        raise ValidationError(f"no annotated scan in {data} (a folder with series/ and an LIDC XML)")
    marks = []
    for k, scan in enumerate(scans):
        start = time.perf_counter()
        image = read_series(scan.series)
        findings = run_pipeline(package, image).findings
        try:
            marks.append(marks_of(scan, image, findings, time.perf_counter() - start))
        except ScanGeometryError as exc:
            raise ValidationError(f"{scan.name}: {exc}") from exc
        if progress:
            progress(k + 1, len(scans))
    threshold, source = operating_threshold(package)
    result = report(marks, threshold, package.name, package.version)
    result.update(data=str(data), threshold_source=source)
    return result, _write(result, marks, out)


def _write(result: dict[str, Any], marks: list, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "metrics.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    curve = froc_curve([outcome(m, 2) for m in marks])
    m = result["metrics"]
    plot = plots.froc_plot(out / "froc.png", curve.fp_per_scan, curve.sensitivity, m["froc_cpm"],
                           (m["fp_per_scan"], m["lesion_sensitivity"]),
                           title=f"FROC (whole scans) - {result['model']}")
    return [path, plot]
