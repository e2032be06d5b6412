"""The AI feedback dataset export: ``feedback.csv`` + ``feedback.json`` for training code."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from viewer.core.feedback_records import Feedback, FeedbackDBError, iso

if TYPE_CHECKING:
    from viewer.core.feedback_store import FeedbackDB

SCHEMA_VERSION = 1
EXPORT_FORMAT = "radsight-feedback"
DISCLAIMER = "not for diagnostic use"

CSV_COLUMNS = (
    "kind", "item_id", "study_instance_uid", "series_instance_uid", "sop_instance_uid", "model",
    "model_version", "label", "score", "passes_operating_point", "verdict", "comment",
    "k", "j", "i", "x_mm", "y_mm", "z_mm", "box_k0", "box_j0", "box_i0", "box_k1", "box_j1", "box_i1",
    "size_k_mm", "size_j_mm", "size_i_mm", "created_at", "verdict_at",
)


def _box_columns(finding: dict[str, Any]) -> dict[str, Any]:
    box = finding.get("box_kji") or [None] * 6
    size = finding.get("size_mm") or [None] * 3
    names = ("box_k0", "box_j0", "box_i0", "box_k1", "box_j1", "box_i1")
    return {**dict(zip(names, box, strict=True)),
            **dict(zip(("size_k_mm", "size_j_mm", "size_i_mm"), size, strict=True))}


def finding_item(row: sqlite3.Row, feedback: Feedback | None) -> dict[str, Any]:
    finding = json.loads(row["finding_json"])
    return {
        "kind": "finding", "item_id": row["finding_uid"], "study_instance_uid": row["study_instance_uid"],
        "series_instance_uid": row["series_instance_uid"], "sop_instance_uid": row["sop_instance_uid"],
        "model": row["model"], "model_version": row["model_version"], "label": row["label"],
        "score": row["score"], "passes_operating_point": bool(row["passes_operating_point"]),
        "verdict": feedback.verdict if feedback else None, "comment": feedback.comment if feedback else "",
        "k": row["k"], "j": row["j"], "i": row["i"], "x_mm": row["x_mm"], "y_mm": row["y_mm"],
        "z_mm": row["z_mm"], **_box_columns(finding), "created_at": row["analysed_at"],
        "verdict_at": iso(feedback.given_at) if feedback else None, "finding": finding,
    }


def missed_item(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "kind": "missed", "item_id": f"missed-{row['id']}", "study_instance_uid": row["study_instance_uid"],
        "series_instance_uid": row["series_instance_uid"], "sop_instance_uid": row["sop_instance_uid"],
        "model": row["model"], "model_version": None, "label": row["label"], "score": None,
        "passes_operating_point": None, "verdict": "missed", "comment": row["comment"],
        "k": row["k"], "j": row["j"], "i": row["i"], "x_mm": row["x_mm"], "y_mm": row["y_mm"],
        "z_mm": row["z_mm"], **_box_columns({}), "created_at": row["added_at"], "verdict_at": row["added_at"],
        "finding": None,
    }


@dataclass(frozen=True)
class ExportedDataset:
    csv_path: Path
    json_path: Path
    n_findings: int
    n_missed: int


def export_dataset(db: FeedbackDB, out_dir: str | os.PathLike[str]) -> ExportedDataset:
    """Write ``feedback.csv`` and ``feedback.json`` into ``out_dir`` (created).

    One item per stored finding (``kind="finding"``; ``verdict`` = latest accept/reject/unsure or
    empty) and per radiologist-added finding (``kind="missed"``, ``verdict="missed"``, no score).
    Columns (CSV header = :data:`CSV_COLUMNS`; empty cell = unknown): UIDs of study, series and
    the slice (SOP Instance UID), model + version, label, score, passes_operating_point,
    verdict, comment, centre as voxel index ``k, j, i`` and LPS ``x_mm, y_mm, z_mm``, the box
    ``box_k0..box_i1`` (voxel index ranges, stop excluded), the size in mm, ``created_at``
    (analysis or click time) and ``verdict_at``.

    ``feedback.json``: ``{"format": "radsight-feedback", "version": 1, "disclaimer": ...,
    "exported_at": ..., "columns": [...], "items": [{<the CSV columns>, "finding": <the full
    Finding JSON or null>}]}``. Read either back with :func:`load_dataset`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = db.dataset_items()
    csv_path, json_path = out / "feedback.csv", out / "feedback.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(items)
    document = {"format": EXPORT_FORMAT, "version": SCHEMA_VERSION, "disclaimer": DISCLAIMER,
                "exported_at": iso(None), "columns": list(CSV_COLUMNS), "items": items}
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    n_missed = sum(item["kind"] == "missed" for item in items)
    return ExportedDataset(csv_path, json_path, len(items) - n_missed, n_missed)


_FLOATS = {"score", "k", "j", "i", "x_mm", "y_mm", "z_mm", "box_k0", "box_j0", "box_i0", "box_k1",
           "box_j1", "box_i1", "size_k_mm", "size_j_mm", "size_i_mm"}
_NULLABLE_TEXT = {"sop_instance_uid", "model", "model_version", "verdict", "verdict_at"}


def _typed_csv_value(name: str, text: str) -> Any:
    if name in _FLOATS:
        return float(text) if text != "" else None
    if name == "passes_operating_point":
        return {"True": True, "False": False}.get(text)
    if name in _NULLABLE_TEXT:
        return text or None
    return text


def load_dataset(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The items of an exported ``feedback.json`` or ``feedback.csv`` (typed; CSV items have no
    ``finding`` key) — the entry point for training code."""
    path = Path(path)
    if path.suffix == ".json":
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != EXPORT_FORMAT:
            raise FeedbackDBError(f"{path} is not a RadSight feedback export")
        return list(document["items"])
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: _typed_csv_value(k, v) for k, v in row.items()} for row in csv.DictReader(handle)]
