"""RadSight's DICOM node (pynetdicom): C-ECHO and C-STORE SCP filing into the study database.

Every storage SOP class is accepted in every transfer syntax, and each instance is kept as it
was sent: its encoded bytes go to the managed store (atomic rename), then its row into the
study database, then the peer gets Success — so an instance the peer saw acknowledged is on disk
and filed, and a kill -9 at any moment leaves a consistent database (the peer resends what was
not acknowledged). Only the configured peers may connect: a connection from another host is
closed at once, an unknown calling AE title is rejected during association negotiation, and a
known AE title calling from another peer's host is aborted as soon as it is accepted.
One ``receive`` audit entry is written per association (calling AE and host, counts, study UIDs
hashed). Logs carry counts and AE titles, never patient data.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pydicom
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

from viewer.core.audit_log import AuditLog
from viewer.core.dicom_peers import AllowedPeer
from viewer.core.study_db import StudyDB
from viewer.core.study_records import InstanceRecord
from viewer.core.study_store import StudyStore

LOG = logging.getLogger(__name__)
STATUS_SUCCESS = 0x0000
STATUS_CANNOT_UNDERSTAND = 0xC210
STATUS_OUT_OF_RESOURCES = 0xA700


@dataclass(frozen=True)
class NodeConfig:
    ae_title: str = "RADSIGHT"
    port: int = 11112
    bind_address: str = "0.0.0.0"
    allowed: Sequence[AllowedPeer] = ()


@dataclass
class NodeStats:
    received: int = 0
    failed: int = 0
    refused: int = 0
    associations: int = 0


@dataclass
class _Transfer:
    """What one association delivered."""

    peer: str
    received: int = 0
    failed: int = 0
    study_uids: set[str] = field(default_factory=set)


def add_storage_scp_contexts(ae: AE) -> None:
    """Accept every storage SOP class, in any transfer syntax, as the SCP."""
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)


class InstanceFiler:
    """Stores received C-STORE data sets as sent and files them (shared with C-GET)."""

    def __init__(self, db: StudyDB) -> None:
        self.db = db
        self.store = StudyStore(db.store_dir)

    def file_event(self, event: Any) -> tuple[int, str | None]:
        """(status, StudyInstanceUID or None) for one C-STORE request event."""
        try:
            data = event.encoded_dataset(include_meta=True)
            ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
            record = InstanceRecord.from_dataset(ds)
        except Exception as exc:  # noqa: BLE001 - any unreadable data set is refused, the node stays up
            LOG.warning("refused an instance that cannot be filed: %s", type(exc).__name__)
            return STATUS_CANNOT_UNDERSTAND, None
        target = self.store.path_for(record.study_instance_uid, record.series_instance_uid,
                                     record.sop_instance_uid)
        try:
            size = self.store.put_bytes(target, [data])
            self.db.add_instances([_placed(record, target, size)])
        except OSError as exc:
            LOG.error("could not store a received instance: %s", exc.strerror or type(exc).__name__)
            return STATUS_OUT_OF_RESOURCES, None
        return STATUS_SUCCESS, record.study_instance_uid


def _placed(record: InstanceRecord, target: Any, size: int) -> InstanceRecord:
    return replace(record, path=str(target), size=size, managed=True)


class DicomNode:
    """The SCP; ``start()`` serves in background threads until ``stop()``."""

    def __init__(self, config: NodeConfig, db: StudyDB, audit: AuditLog | None = None,
                 on_stored: Callable[[NodeStats], None] | None = None) -> None:
        self.config, self.db, self.audit, self.on_stored = config, db, audit, on_stored
        self.stats = NodeStats()
        self._filer = InstanceFiler(db)
        self._transfers: dict[int, _Transfer] = {}
        self._lock = threading.Lock()
        self._server: Any = None
        self._pairs = {(p.ae_title, a) for p in config.allowed for a in p.addresses()}
        self._hosts = {host for _, host in self._pairs}

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        """The port served (the one asked for, or the one the OS chose for port 0)."""
        return int(self._server.server_address[1]) if self._server else self.config.port

    def _application_entity(self) -> AE:
        ae = AE(ae_title=self.config.ae_title)
        ae.maximum_pdu_size = 0  # no limit: fewer, larger PDUs from senders that allow it
        # No allowed peer: every connection is closed by _verify_host before any negotiation.
        ae.require_calling_aet = sorted({p.ae_title for p in self.config.allowed})
        ae.add_supported_context(Verification)
        add_storage_scp_contexts(ae)
        return ae

    def start(self) -> None:
        """Listen (raises OSError when the port is taken)."""
        self._filer.store.remove_partial()
        handlers = [(evt.EVT_C_ECHO, lambda event: STATUS_SUCCESS), (evt.EVT_C_STORE, self._on_store),
                    (evt.EVT_ACCEPTED, self._on_accepted), (evt.EVT_CONN_CLOSE, self._on_close)]
        server = self._application_entity().start_server(
            (self.config.bind_address, self.config.port), block=False, evt_handlers=handlers)
        server.verify_request = self._verify_host
        self._server = server
        LOG.info("DICOM node %s listening on port %d", self.config.ae_title, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _verify_host(self, request: Any, client_address: tuple[str, int]) -> bool:
        if client_address[0] in self._hosts:
            return True
        with self._lock:
            self.stats.refused += 1
        LOG.warning("refused a connection from an unknown host")
        return False

    def _on_accepted(self, event: Any) -> None:
        requestor = event.assoc.requestor
        peer = (requestor.ae_title.strip(), requestor.address)
        if peer not in self._pairs:
            with self._lock:
                self.stats.refused += 1
            LOG.warning("aborted an association from %s: not allowed from that host", peer[0])
            event.assoc.abort()
            return
        with self._lock:
            self.stats.associations += 1
            self._transfers[id(event.assoc)] = _Transfer(f"{peer[0]}@{peer[1]}")

    def _on_store(self, event: Any) -> int:
        status, study_uid = self._filer.file_event(event)
        with self._lock:
            transfer = self._transfers.setdefault(id(event.assoc), _Transfer("unknown"))
            if status == STATUS_SUCCESS:
                self.stats.received += 1
                transfer.received += 1
                transfer.study_uids.add(str(study_uid))
            else:
                self.stats.failed += 1
                transfer.failed += 1
            stats = NodeStats(**vars(self.stats))
        if self.on_stored is not None:
            self.on_stored(stats)
        return status

    def _on_close(self, event: Any) -> None:
        with self._lock:
            transfer = self._transfers.pop(id(event.assoc), None)
        if transfer is None or not (transfer.received or transfer.failed):
            return
        LOG.info("received %d instances (%d failed) from %s", transfer.received, transfer.failed,
                 transfer.peer.split("@")[0])
        if self.audit is not None:
            self.audit.record("receive", uids=sorted(transfer.study_uids), actor=transfer.peer,
                              detail={"instances": transfer.received, "failed": transfer.failed})
