"""The radiologist's answers to the AI, kept in a local SQLite file that survives restarts.

Where: ``feedback.sqlite3`` in RadSight's data folder (``$RADSIGHT_HOME``, else
``$RADSIGHT_DATA_DIR``, else the platform's per-user data folder; see
:mod:`viewer.core.storage_paths`), or any path given to :class:`FeedbackDB`. Only DICOM UIDs,
model names, scores, coordinates and the radiologist's verdicts/comments are stored: **no
patient names or IDs** (and nothing here logs).

Schema (version :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``)::

    analyses(id, study_instance_uid, series_instance_uid, model, model_version, provider,
             seconds, analysed_at)                         -- one model run on one series
    findings(id, analysis_id → analyses, finding_uid UNIQUE, label, score,
             passes_operating_point, sop_instance_uid, k, j, i, x_mm, y_mm, z_mm,
             finding_json)                                 -- Finding.to_dict() as JSON
    feedback(id, finding_uid → findings, verdict ∈ accept|reject|unsure, comment, given_at)
                                                           -- append-only; the latest row counts
    missed_findings(id, study_instance_uid, series_instance_uid, sop_instance_uid, label,
                    k, j, i, x_mm, y_mm, z_mm, model, comment, added_at)
                                                           -- radiologist-added findings

Coordinates: ``k, j, i`` a (fractional) voxel index on the series' volume grid ``[k, j, i]``;
``x_mm, y_mm, z_mm`` the same point in DICOM patient coordinates (LPS), NULL without geometry.
Times are ISO 8601 UTC strings. ``finding_uid`` is the finding's own ``id``.

Agreement: the model *agrees* with the radiologist when a finding that passes the operating
point is accepted, or one below it is rejected; *disagrees* for the other two; "unsure" is
counted but not in the rate. Rate = agree / (agree + disagree), binned by the day or the ISO week
(Monday) of the verdict. The dataset export format is described in :func:`export_dataset`.

This module is the feedback store's public face; the code lives in small modules on the storage
layer shared with the study database (:mod:`viewer.core.storage_db`):
:mod:`~viewer.core.feedback_store` (schema, reads and writes), :mod:`~viewer.core.feedback_records`
(records), :mod:`~viewer.core.feedback_agreement` (agreement statistics) and
:mod:`~viewer.core.feedback_export` (dataset export format).
"""

from __future__ import annotations

from viewer.core.feedback_agreement import bin_start
from viewer.core.feedback_export import (
    CSV_COLUMNS,
    DISCLAIMER,
    EXPORT_FORMAT,
    ExportedDataset,
    export_dataset,
    load_dataset,
)
from viewer.core.feedback_records import (
    VERDICTS,
    AgreementBin,
    Analysis,
    Bin,
    Feedback,
    FeedbackDBError,
    MissedFinding,
    StoredFinding,
    StudySummary,
    parse_time,
    sop_for_slice,
    utc_now,
)
from viewer.core.feedback_store import DB_FILE, SCHEMA_VERSION, FeedbackDB, default_data_dir, default_db_path
from viewer.core.storage_paths import APP_NAME, ENV_DATA_DIR

__all__ = [
    "APP_NAME", "CSV_COLUMNS", "DB_FILE", "DISCLAIMER", "ENV_DATA_DIR", "EXPORT_FORMAT", "SCHEMA_VERSION",
    "VERDICTS", "AgreementBin", "Analysis", "Bin", "ExportedDataset", "Feedback", "FeedbackDB",
    "FeedbackDBError", "MissedFinding", "StoredFinding", "StudySummary", "bin_start", "default_data_dir",
    "default_db_path", "export_dataset", "load_dataset", "parse_time", "sop_for_slice", "utc_now",
]
