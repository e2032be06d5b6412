"""RadSight as a DICOM client (pynetdicom): C-ECHO, C-FIND, C-MOVE, C-GET and C-STORE.

Every operation opens one association to the peer, does its work and releases it; failures come
back as :class:`NodeError` with a one-line reason. Query, retrieve and send are written to the
audit log when one is given (peer as ``AET@HOST:PORT``, study UIDs hashed, counts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pynetdicom import AE, build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from viewer.core.audit_log import AuditLog
from viewer.core.dicom_node import STATUS_SUCCESS, InstanceFiler
from viewer.core.dicom_peers import RemoteNode
from viewer.core.study_db import StudyDB

MAX_CONTEXTS = 128
PENDING = (0xFF00, 0xFF01)
Progress = Callable[[int, int], None]

# What C-GET asks the peer to send: the storage classes RadSight reads or writes (a C-GET
# association may propose at most 128 contexts, fewer than there are storage classes).
GET_STORAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.4",
    "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1",
    "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.12.1",
    "1.2.840.10008.5.1.4.1.1.20", "1.2.840.10008.5.1.4.1.1.128", "1.2.840.10008.5.1.4.1.1.88.11",
    "1.2.840.10008.5.1.4.1.1.88.22", "1.2.840.10008.5.1.4.1.1.88.33", "1.2.840.10008.5.1.4.1.1.88.34",
    "1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.30", "1.2.840.10008.5.1.4.1.1.481.1",
)
GET_TRANSFER_SYNTAXES = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.4.80",
                         "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5")


class NodeError(Exception):
    """A DICOM operation that could not be done (peer unreachable, refused, failed)."""


@dataclass(frozen=True)
class RemoteStudy:
    """One study a peer's C-FIND returned (shown, never logged)."""

    study_instance_uid: str
    patient_id: str
    patient_name: str
    study_date: str
    study_description: str
    modalities: tuple[str, ...]
    n_instances: int | None


@dataclass
class TransferReport:
    """How a retrieve or send went."""

    completed: int = 0
    failed: int = 0
    warning: int = 0
    cancelled: bool = False
    skipped: list[tuple[str, str]] = field(default_factory=list)
    study_uids: set[str] = field(default_factory=set)


def _ae(calling_aet: str) -> AE:
    ae = AE(ae_title=calling_aet)
    ae.maximum_pdu_size = 0
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    return ae


@contextmanager
def _associate(ae: AE, peer: RemoteNode, **kwargs: Any) -> Iterator[Association]:
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title, **kwargs)
    if not assoc.is_established:
        reason = "rejected the association" if assoc.is_rejected else "could not be reached"
        raise NodeError(f"{peer} {reason}")
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


def _status(status: Dataset | None, what: str, peer: RemoteNode) -> int:
    if status is None or "Status" not in status:
        raise NodeError(f"{peer} did not answer the {what} (connection lost or timed out)")
    return int(status.Status)


def echo(peer: RemoteNode, calling_aet: str = "RADSIGHT") -> None:
    """C-ECHO; raises :class:`NodeError` unless the peer answers Success."""
    ae = _ae(calling_aet)
    ae.add_requested_context(Verification)
    with _associate(ae, peer) as assoc:
        code = _status(assoc.send_c_echo(), "C-ECHO", peer)
    if code != STATUS_SUCCESS:
        raise NodeError(f"{peer} answered C-ECHO with status 0x{code:04X}")


def _study_identifier(**terms: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    for keyword in ("StudyInstanceUID", "PatientID", "PatientName", "StudyDate", "StudyDescription",
                    "ModalitiesInStudy", "NumberOfStudyRelatedInstances"):
        setattr(ds, keyword, terms.get(keyword, ""))
    return ds


def _remote_study(ds: Dataset) -> RemoteStudy:
    modalities = ds.get("ModalitiesInStudy", "")
    modalities = (modalities,) if isinstance(modalities, str) else tuple(str(m) for m in modalities)
    count = ds.get("NumberOfStudyRelatedInstances", "")
    return RemoteStudy(str(ds.get("StudyInstanceUID", "")), str(ds.get("PatientID", "")),
                       str(ds.get("PatientName", "")), str(ds.get("StudyDate", "")),
                       str(ds.get("StudyDescription", "")), tuple(m for m in modalities if m),
                       int(count) if str(count).strip().isdigit() else None)


def find_studies(peer: RemoteNode, calling_aet: str = "RADSIGHT", *, patient_name: str = "",
                 patient_id: str = "", study_date: str = "", modality: str = "", description: str = "",
                 audit: AuditLog | None = None) -> list[RemoteStudy]:
    """Study-level C-FIND (Study Root). ``study_date`` is ``YYYYMMDD`` or a range ``A-B``;
    names and IDs take DICOM wildcards (``*``)."""
    ae = _ae(calling_aet)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    query = _study_identifier(PatientName=patient_name, PatientID=patient_id, StudyDate=study_date,
                              ModalitiesInStudy=modality, StudyDescription=description)
    found = []
    with _associate(ae, peer) as assoc:
        for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
            code = _status(status, "C-FIND", peer)
            if code in PENDING and identifier is not None:
                found.append(_remote_study(identifier))
            elif code != STATUS_SUCCESS:
                raise NodeError(f"{peer} answered C-FIND with status 0x{code:04X}")
    if audit is not None:
        audit.record("query", actor=str(peer), detail={"level": "STUDY", "matches": len(found)})
    return found


def _count(status: Dataset, keyword: str) -> int:
    return int(status.get(keyword, 0) or 0)


def _finish(report: TransferReport, status: Dataset) -> None:
    report.completed = _count(status, "NumberOfCompletedSuboperations")
    report.failed = _count(status, "NumberOfFailedSuboperations")
    report.warning = _count(status, "NumberOfWarningSuboperations")


def move_study(peer: RemoteNode, study_instance_uid: str, destination_aet: str,
               calling_aet: str = "RADSIGHT", audit: AuditLog | None = None) -> TransferReport:
    """C-MOVE a study to ``destination_aet`` (RadSight's own node when it is running)."""
    ae = _ae(calling_aet)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    report = TransferReport(study_uids={study_instance_uid})
    identifier = _study_identifier(StudyInstanceUID=study_instance_uid)
    with _associate(ae, peer) as assoc:
        for status, _ in assoc.send_c_move(identifier, destination_aet,
                                           StudyRootQueryRetrieveInformationModelMove):
            code = _status(status, "C-MOVE", peer)
            if code not in PENDING:
                _finish(report, status)
                if code not in (STATUS_SUCCESS, 0xB000):
                    raise NodeError(f"{peer} answered C-MOVE with status 0x{code:04X}")
    _audit_retrieve(audit, peer, study_instance_uid, report, "C-MOVE")
    return report


def get_study(peer: RemoteNode, study_instance_uid: str, db: StudyDB, calling_aet: str = "RADSIGHT",
              audit: AuditLog | None = None) -> TransferReport:
    """C-GET a study over one association, filing every instance into ``db``."""
    ae = _ae(calling_aet)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for sop_class in GET_STORAGE_CLASSES:
        ae.add_requested_context(sop_class, list(GET_TRANSFER_SYNTAXES))
    roles = [build_role(sop_class, scp_role=True) for sop_class in GET_STORAGE_CLASSES]
    filer = InstanceFiler(db)
    handlers = [(evt.EVT_C_STORE, lambda event: filer.file_event(event)[0])]
    report = TransferReport(study_uids={study_instance_uid})
    identifier = _study_identifier(StudyInstanceUID=study_instance_uid)
    with _associate(ae, peer, ext_neg=roles, evt_handlers=handlers) as assoc:
        for status, _ in assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet):
            code = _status(status, "C-GET", peer)
            if code not in PENDING:
                _finish(report, status)
                if code not in (STATUS_SUCCESS, 0xB000):
                    raise NodeError(f"{peer} answered C-GET with status 0x{code:04X}")
    _audit_retrieve(audit, peer, study_instance_uid, report, "C-GET")
    return report


def _audit_retrieve(audit: AuditLog | None, peer: RemoteNode, study_uid: str, report: TransferReport,
                    method: str) -> None:
    if audit is not None:
        audit.record("retrieve", uids=[study_uid], actor=str(peer),
                     detail={"method": method, "instances": report.completed, "failed": report.failed})


# --- C-STORE SCU ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Outgoing:
    path: Path
    sop_class_uid: str
    transfer_syntax_uid: str
    study_instance_uid: str


def _files(paths: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        else:
            found.append(path)
    return found


def _outgoing(files: Sequence[Path], report: TransferReport) -> list[_Outgoing]:
    out = []
    for path in files:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True,
                                 specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"])
            syntax = str(ds.file_meta.TransferSyntaxUID)
            out.append(_Outgoing(path, str(ds.SOPClassUID), syntax, str(ds.StudyInstanceUID)))
        except (InvalidDicomError, OSError, AttributeError, ValueError, EOFError, KeyError) as exc:
            report.skipped.append((str(path), f"not a DICOM file that can be sent ({type(exc).__name__})"))
    return out


def _batches(items: list[_Outgoing]) -> list[list[_Outgoing]]:
    """Split so that no association needs more than 128 presentation contexts."""
    batches: list[list[_Outgoing]] = []
    contexts: list[set[tuple[str, str]]] = []
    for item in items:
        key = (item.sop_class_uid, item.transfer_syntax_uid)
        for batch, keys in zip(batches, contexts, strict=True):
            if key in keys or len(keys) < MAX_CONTEXTS:
                batch.append(item)
                keys.add(key)
                break
        else:
            batches.append([item])
            contexts.append({key})
    return batches


def send_files(peer: RemoteNode, paths: Sequence[str | Path], calling_aet: str = "RADSIGHT",
               progress: Progress | None = None, cancel: threading.Event | None = None,
               audit: AuditLog | None = None) -> TransferReport:
    """C-STORE files and folders (recursively) to ``peer``, each in its own transfer syntax.
    ``cancel`` stops between two files; ``progress(done, total)`` follows every file."""
    report = TransferReport()
    items = _outgoing(_files([Path(p) for p in paths]), report)
    done = 0
    for batch in _batches(items):
        done = _send_batch(peer, calling_aet, batch, report, done, len(items), progress, cancel)
        if report.cancelled:
            break
    if audit is not None:
        audit.record("send", uids=sorted(report.study_uids), actor=str(peer),
                     detail={"instances": report.completed, "failed": report.failed,
                             "skipped": len(report.skipped), "cancelled": int(report.cancelled)})
    return report


def _send_batch(peer: RemoteNode, calling_aet: str, batch: list[_Outgoing], report: TransferReport,
                done: int, total: int, progress: Progress | None, cancel: threading.Event | None) -> int:
    ae = _ae(calling_aet)
    for sop_class, syntax in sorted({(i.sop_class_uid, i.transfer_syntax_uid) for i in batch}):
        ae.add_requested_context(sop_class, syntax)
    with _associate(ae, peer) as assoc:
        for item in batch:
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            _send_one(assoc, item, report, peer)
            done += 1
            if progress:
                progress(done, total)
    return done


def _send_one(assoc: Association, item: _Outgoing, report: TransferReport, peer: RemoteNode) -> None:
    try:
        status = assoc.send_c_store(item.path)
    except (ValueError, RuntimeError) as exc:  # no accepted context for this class / syntax
        report.failed += 1
        report.skipped.append((str(item.path), f"{peer} does not accept it ({exc})"))
        return
    code = _status(status, "C-STORE", peer)
    if code == STATUS_SUCCESS or code >> 12 == 0xB:
        report.completed += 1
        report.warning += int(code != STATUS_SUCCESS)
        report.study_uids.add(item.study_instance_uid)
    else:
        report.failed += 1
