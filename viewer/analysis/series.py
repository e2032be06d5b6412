"""A path (file, folder, DICOMDIR, PNG/JPEG) → each series loaded by ``viewer.core`` and analysed.

``radsight analyze`` is a thin adapter over :func:`analyse_path`; each :class:`SeriesAnalysis` keeps
the loaded volume and the :class:`~viewer.analysis.service.AnalysisResult` (findings, maps, each
finding's own explanation array), so exporters (DICOM SR/SEG, PNG overlays) work from it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai.package import ModelPackage
from ai.registry import ModelRegistry
from viewer.analysis.image_input import declared, image_input
from viewer.analysis.service import AnalysisProgress, AnalysisResult, analyse
from viewer.core.dicom_index import SeriesRecord, index_path
from viewer.core.problems import DicomLoadError
from viewer.core.series_loader import load_series
from viewer.core.volume import Volume


class InputError(Exception):
    """Nothing to analyse under the path: the message is the one-line reason."""


@dataclass
class SeriesAnalysis:
    """One series: where it came from, the volume as loaded, and what the models said."""

    number: int
    record: SeriesRecord
    volume: Volume | None
    result: AnalysisResult

    def to_dict(self) -> dict[str, Any]:
        v, r = self.volume, self.result
        models = [{"name": m.name, "version": m.version, "provider": m.provider,
                   "seconds": round(m.seconds, 3), "probabilities": m.probabilities, "notes": m.notes,
                   "mark_rules": m.mark_rules}
                  for m in r.runs]
        return {"number": self.number, "series_instance_uid": self.record.series_instance_uid,
                "key": self.record.key, "modality": v.modality if v else self.record.modality,
                "shape": list(v.shape) if v else None, "spacing": list(v.spacing) if v else None,
                "unit": v.unit if v else None, "models": models, "refused": r.refused, "failed": r.failed}


def series_under(path: Path) -> list[SeriesRecord]:
    """Every loadable series under ``path`` (raises :class:`InputError` with the reason)."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    records = index_path(path).series
    if not records:
        raise InputError(f"no loadable DICOM series or image under {path}")
    return records


def _not_loaded(number: int, record: SeriesRecord, reason: str, packages: Sequence[ModelPackage] | None,
                registry: ModelRegistry | None) -> SeriesAnalysis:
    names = [p.name for p in packages] if packages is not None else (registry or ModelRegistry()).names()
    result = AnalysisResult(record.series_instance_uid, record.study_instance_uid)
    result.refused = {name: f"the series could not be loaded: {reason}" for name in names}
    return SeriesAnalysis(number, record, None, result)


def analyse_series(number: int, record: SeriesRecord, packages: Sequence[ModelPackage] | None = None,
                   registry: ModelRegistry | None = None, modality: str | None = None,
                   progress: AnalysisProgress | None = None,
                   cancel: threading.Event | None = None) -> SeriesAnalysis:
    """Load one series (declaring a plain image's ``modality``) and analyse it."""
    try:
        volume = declared(load_series(record).volume, modality)
    except DicomLoadError as exc:
        return _not_loaded(number, record, str(exc), packages, registry)
    image = image_input(volume, record.descriptor.body_part_examined)
    result = analyse(image, packages, progress, cancel, registry=registry,
                     series_instance_uid=volume.series_instance_uid,
                     study_instance_uid=volume.study_instance_uid)
    return SeriesAnalysis(number, record, volume, result)


def analyse_path(path: Path, packages: Sequence[ModelPackage] | None = None,
                 registry: ModelRegistry | None = None, modality: str | None = None,
                 announce: AnalysisProgress | None = None) -> list[SeriesAnalysis]:
    """Every series under ``path`` analysed in turn (raises :class:`InputError` when there is none)."""
    return [analyse_series(n, record, packages, registry, modality, announce)
            for n, record in enumerate(series_under(path), 1)]
