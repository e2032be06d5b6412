"""The study database on real SQLite files with real DICOM: import (folder, DICOMDIR, zip, by
reference), idempotent re-import, search, delete, bad input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from viewer.core.audit_log import AuditLog
from viewer.core.dicom_import import DicomImportError, import_path
from viewer.core.storage_db import StorageError
from viewer.core.study_db import SCHEMA_VERSION, StudyDB, StudyDBError, StudyQuery
from viewer.core.study_store import StudyStore

PETER, ARCHIBALD = "98890234", "77654033"


@pytest.fixture
def dicomdir() -> Path:
    return Path(get_testdata_file("DICOMDIR"))


@pytest.fixture
def brain_mr(dicom_data: Path) -> Path:
    path = dicom_data / "ge-brain-mr-20" / "series"
    if not path.is_dir():
        pytest.skip(f"GE brain MR series not found at {path}")
    return path


def test_dicomdir_media_are_imported_as_copies(tmp_path: Path, dicomdir: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    with StudyDB(tmp_path / "db") as db:
        report = import_path(db, dicomdir, audit=audit)
        assert (report.files, report.filed, report.skipped) == (31, 31, [])
        assert db.counts() == {"patients": 2, "studies": 6, "series": 13, "instances": 31}
        assert db.problems() == []
        for row in db.instances():
            assert row.managed and row.path.is_relative_to(db.store_dir)
            assert pydicom.dcmread(row.path, stop_before_pixels=True).SOPInstanceUID == row.sop_instance_uid
    [entry] = audit.entries()
    assert (entry.action, entry.detail["filed"], len(entry.uid_hashes)) == ("import", 31, 6)
    assert "Doe" not in (tmp_path / "audit.jsonl").read_text()


def test_reimport_is_idempotent_and_reopens_after_a_restart(tmp_path: Path, brain_mr: Path) -> None:
    with StudyDB(tmp_path / "db") as db:
        first = import_path(db, brain_mr)
        paths = {r.sop_instance_uid: r.path for r in db.instances()}
    with StudyDB(tmp_path / "db") as db:
        again = import_path(db, brain_mr)
        assert (first.filed, again.filed) == (20, 20)
        assert [s.n_instances for s in db.studies()] == [20]
        assert {r.sop_instance_uid: r.path for r in db.instances()} == paths
        assert sum(1 for p in db.store_dir.rglob("*") if p.is_file()) == 20


def test_import_by_reference_files_the_originals(tmp_path: Path, brain_mr: Path) -> None:
    with StudyDB(tmp_path / "db") as db:
        report = import_path(db, brain_mr, copy=False)
        assert report.filed == 20 and not db.store_dir.exists()
        assert {r.path for r in db.instances()} == {p.resolve() for p in brain_mr.glob("*.dcm")}
        assert not any(r.managed for r in db.instances())
        [study] = db.studies()
        removed = StudyStore(db.store_dir).remove(i.path for i in db.delete_study(study.study_instance_uid))
        assert removed == 0 and len(list(brain_mr.glob("*.dcm"))) == 20  # originals untouched


def test_a_zip_file_is_imported_and_its_non_dicom_members_skipped(tmp_path: Path, brain_mr: Path) -> None:
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(brain_mr.glob("*.dcm"))[:5]:
            out.write(path, f"exam/{path.name}")
        out.writestr("exam/notes.txt", "not DICOM")
    with StudyDB(tmp_path / "db") as db:
        report = import_path(db, archive)
        assert (report.files, report.filed) == (6, 5)
        [(name, reason)] = report.skipped
        assert name.endswith("notes.txt") and "DICOM" in reason
        assert db.problems() == [] and db.counts()["instances"] == 5
        with pytest.raises(DicomImportError, match="only be imported as a copy"):
            import_path(db, archive, copy=False)


def uids(rows: list) -> set[str]:
    return {r.study_instance_uid[-6:] for r in rows}


def test_search_by_name_id_dates_modality_and_description(tmp_path: Path, dicomdir: Path) -> None:
    with StudyDB(tmp_path / "db") as db:
        import_path(db, dicomdir, copy=False)
        assert len(db.studies()) == 6
        peter = db.studies(StudyQuery(patient_name="doe^pe*"))
        assert {s.patient_id for s in peter} == {PETER} and len(peter) == 4
        assert {s.patient_name for s in db.studies(StudyQuery(patient_id=ARCHIBALD))} == {"Doe^Archibald"}
        assert db.studies(StudyQuery(patient_name="Nobody")) == []
        in_2003 = db.studies(StudyQuery(date_from="20030101", date_to="20031231"))
        assert {s.study_description for s in in_2003} == {"Brain-MRA", "Brain", "Carotids"}
        old = db.studies(StudyQuery(date_to="19991231"))
        assert [s.study_description for s in old] == ["CT, HEAD/BRAIN WO CONTRAST"]
        ct = db.studies(StudyQuery(modality="ct"))
        assert {s.modalities for s in ct} == {("CT",)} and len(ct) == 2
        assert [s.study_description for s in db.studies(StudyQuery(description="spine"))] == [
            "XR C Spine Comp Min 4 Views"]
        by_series = db.studies(StudyQuery(description="SmartScore"))  # a series description
        assert [s.n_instances for s in by_series] == [7]
        both = db.studies(StudyQuery(patient_id=PETER, modality="MR", date_from="20030505"))
        assert len(both) == 3
        with pytest.raises(StudyDBError, match="YYYYMMDD"):
            db.studies(StudyQuery(date_from="2003-05-05"))


def test_delete_removes_rows_managed_files_and_the_last_patient(tmp_path: Path, dicomdir: Path) -> None:
    with StudyDB(tmp_path / "db") as db:
        import_path(db, dicomdir)
        [spine] = db.studies(StudyQuery(description="spine"))
        [head] = db.studies(StudyQuery(patient_id=ARCHIBALD, modality="CT"))
        store = StudyStore(db.store_dir)
        gone = db.delete_study(spine.study_instance_uid)
        assert store.remove(i.path for i in gone) == 3 and not any(i.path.exists() for i in gone)
        assert db.counts()["patients"] == 2
        store.remove(i.path for i in db.delete_study(head.study_instance_uid))
        assert db.counts() == {"patients": 1, "studies": 4, "series": 9, "instances": 24}
        assert db.problems() == []
        with pytest.raises(StudyDBError, match="no such study"):
            db.delete_study(spine.study_instance_uid)


def test_bad_input_is_reported_not_raised(tmp_path: Path, dicom_data: Path) -> None:
    broken = dicom_data / "pylibjpeg-corpus"
    with StudyDB(tmp_path / "db") as db:
        with pytest.raises(DicomImportError, match="does not exist"):
            import_path(db, tmp_path / "nowhere")
        (tmp_path / "junk").mkdir()
        (tmp_path / "junk" / "a.dcm").write_bytes(b"\0" * 200)
        report = import_path(db, tmp_path / "junk")
        assert report.filed == 0 and "not a DICOM file" in report.skipped[0][1]
        if broken.is_dir():
            report = import_path(db, broken)
            assert report.filed + len(report.skipped) == report.files and report.filed > 0
        assert db.problems() == []


def test_a_database_from_a_newer_radsight_is_refused(tmp_path: Path) -> None:
    import sqlite3

    with StudyDB(tmp_path / "db") as db:
        path = db.path
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StorageError, match="newer RadSight"):
        StudyDB(tmp_path / "db")


def test_db_import_list_and_delete_commands(tmp_path: Path, dicomdir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from viewer.cli import main

    def radsight(*args: str) -> SimpleNamespace:
        code = main(["db", *args, "--db", str(tmp_path / "db")])
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    imported = radsight("import", str(dicomdir))
    assert imported.returncode == 0 and "31 of 31 files filed in 6 studies" in imported.stdout
    lines = radsight("list", "--modality", "CR").stdout.splitlines()
    [(patient, uid, modalities, count)] = [line.split("\t") for line in lines]
    assert (patient, modalities, count) == (ARCHIBALD, "CR", "3")
    deleted = radsight("delete", uid)
    assert deleted.returncode == 0 and "3 instances, 3 managed files removed" in deleted.stdout
    assert len(radsight("list").stdout.splitlines()) == 5
    missing = radsight("delete", uid)
    assert missing.returncode == 2 and "no such study" in missing.stderr and "Traceback" not in missing.stderr
    bad_date = radsight("list", "--from", "2003-01-01")
    assert bad_date.returncode == 2 and "YYYYMMDD" in bad_date.stderr
    actions = [e.action for e in AuditLog(tmp_path / "db" / "audit.jsonl").entries()]
    assert actions == ["import", "delete"]


def test_a_study_thumbnail_is_the_middle_image_of_its_largest_series(tmp_path: Path, dicomdir: Path,
                                                                     dicom_data: Path) -> None:
    """The Database list's picture of a study: the middle instance (by instance number) of its largest
    series, read alone — a compressed file included, decoded in this process (no decoder-pool task)."""
    from viewer.core import decode_pool
    from viewer.core.series_thumbnail import file_thumbnail

    lidc = dicom_data / "lidc-idri-0001" / "series"
    if not lidc.is_dir():
        pytest.skip(f"LIDC-0001 (JPEG-LS) not found at {lidc}")
    with StudyDB(tmp_path / "db") as db:
        import_path(db, lidc, copy=False)
        import_path(db, dicomdir)
        studies = {s.study_instance_uid: s for s in db.studies()}
        ct = next(uid for uid, s in studies.items() if s.n_instances > 100)
        middle = db.representative_instance(ct)
        numbers = sorted(i.instance_number for i in db.instances(study_instance_uid=ct))
        assert middle.instance_number == numbers[len(numbers) // 2]
        assert db.representative_instance("1.2.3.no.such.study") is None
        for uid in studies:  # every DICOMDIR study has a picture too (CT, MR, US...)
            assert db.representative_instance(uid) is not None
    submitted = decode_pool.tasks_submitted()
    picture = file_thumbnail(middle.path, 48)
    assert picture.shape == (48, 48) and picture.dtype.name == "uint8" and picture.std() > 30
    assert picture[24, 6] < picture[24, 24], "lung (left) darker than the mediastinum: a chest CT slice"
    assert decode_pool.tasks_submitted() == submitted
