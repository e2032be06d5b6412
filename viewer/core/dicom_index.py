"""Index a folder tree, a DICOMDIR or single files into patient → study → series.

`index_path` reads every file's header once (pixel data deferred), skips what is not an image
with a reason, and groups frames into `SeriesRecord`s. A SeriesInstanceUID (0020,000E) that
holds several *stacks* — images of another size or orientation, or a second image at a
position already taken (e.g. the two echoes of a multi-frame MR) — is split into one record per
stack, so that a loaded series is always one coherent grid. Plain PNG/JPEG files become
single-image records without geometry.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from viewer.core.dicom_frames import (
    Frame,
    NotAnImageError,
    frames_from_dataset,
    frames_from_scan,
    read_dataset,
)
from viewer.core.problems import FileProblem
from viewer.core.raster_image import RASTER_SUFFIXES

ProgressCallback = Callable[[int, int], None]
_POSITION_TOLERANCE_MM = 0.01


@dataclass(frozen=True)
class SeriesDescriptor:
    """Display attributes of a series, from its first instance (shown, never logged)."""

    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    study_description: str = ""
    series_description: str = ""
    series_number: int | None = None
    body_part_examined: str = ""
    accession_number: str = ""


@dataclass
class SeriesRecord:
    """One loadable stack of frames: a series, or one stack of a series that holds several."""

    series_instance_uid: str
    study_instance_uid: str
    modality: str
    descriptor: SeriesDescriptor
    frames: list[Frame] = field(default_factory=list)
    stack_number: int = 1
    stack_count: int = 1
    raster_path: Path | None = None  # set for a PNG/JPEG file (no DICOM geometry)

    @property
    def key(self) -> str:
        """What `--series` accepts: the SeriesInstanceUID, suffixed ``#n`` for stack n of several."""
        if self.raster_path is not None:
            return str(self.raster_path)
        return self.series_instance_uid + (f"#{self.stack_number}" if self.stack_count > 1 else "")

    @property
    def instance_count(self) -> int:
        return len({f.sop_instance_uid for f in self.frames}) if self.frames else 1

    @property
    def frame_count(self) -> int:
        return len(self.frames) if self.frames else 1

    @property
    def has_geometry(self) -> bool:
        return bool(self.frames) and all(f.position and f.orientation for f in self.frames)

    @property
    def files(self) -> list[Path]:
        if self.raster_path is not None:
            return [self.raster_path]
        return sorted({f.path for f in self.frames})

    def summary(self) -> str:
        if self.raster_path is not None:
            return "2D image, no geometry"
        first = self.frames[0]
        spacing = first.pixel_spacing or first.imager_pixel_spacing
        size = f"{first.columns}×{first.rows}"
        if spacing:
            return f"{size} px, {spacing[1]:.3g}×{spacing[0]:.3g} mm, {self.frame_count} frames"
        return f"{size} px, {self.frame_count} frames, no pixel spacing"


@dataclass
class StudyRecord:
    study_instance_uid: str
    series: list[SeriesRecord] = field(default_factory=list)

    @property
    def descriptor(self) -> SeriesDescriptor:
        return self.series[0].descriptor

    @property
    def modalities(self) -> list[str]:
        return sorted({s.modality for s in self.series})

    @property
    def image_count(self) -> int:
        return sum(s.frame_count for s in self.series)


@dataclass
class PatientRecord:
    patient_key: str  # PatientID when present (display only, never logged)
    studies: list[StudyRecord] = field(default_factory=list)


@dataclass
class DicomIndex:
    """What a folder holds, and what was skipped and why."""

    root: Path
    patients: list[PatientRecord] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def studies(self) -> list[StudyRecord]:
        return [study for patient in self.patients for study in patient.studies]

    @property
    def series(self) -> list[SeriesRecord]:
        return [series for study in self.studies for series in study.series]

    def find_series(self, key: str) -> SeriesRecord:
        """The series whose key or SeriesInstanceUID is ``key``; KeyError with the choices."""
        matches = [s for s in self.series if key in (s.key, s.series_instance_uid)]
        if not matches:
            known = ", ".join(s.key for s in self.series) or "none"
            raise KeyError(f"no series {key!r} here (series found: {known})")
        return matches[0]


def index_path(path: str | os.PathLike[str], progress: ProgressCallback | None = None) -> DicomIndex:
    """Index a file, a folder tree or a DICOMDIR file."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root} does not exist")
    files = _files_under(root)
    builder = _IndexBuilder(root)
    for n, file in enumerate(files, 1):
        builder.add_file(file)
        if progress:
            progress(n, len(files))
    return builder.build()


def _files_under(root: Path) -> list[Path]:
    if root.is_file() and root.name.upper() == "DICOMDIR":
        return _dicomdir_files(root)
    if root.is_file():
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath, f) for f in sorted(filenames) if not f.startswith("."))
    return found


def _dicomdir_files(dicomdir: Path) -> list[Path]:
    """The image files a DICOMDIR references (PS3.10 File-set)."""
    from pydicom.fileset import FileSet

    fileset = FileSet(dicomdir)
    return sorted({Path(instance.path) for instance in fileset})


class _IndexBuilder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.frames: list[Frame] = []
        self.descriptors: dict[str, SeriesDescriptor] = {}
        self.patient_of_study: dict[str, str] = {}
        self.raster: list[Path] = []
        self.problems: list[FileProblem] = []
        self.seen_sop: set[str] = set()

    def add_file(self, path: Path) -> None:
        if path.suffix.lower() in RASTER_SUFFIXES:
            self.raster.append(path)
            return
        try:
            ds = None
            frames = frames_from_scan(path)
            if frames is None:
                ds = read_dataset(path)
                frames = frames_from_dataset(path, ds)
        except NotAnImageError as exc:
            severity = "ignored" if _is_ignorable(str(exc)) else "error"
            self.problems.append(FileProblem(path, str(exc), severity))
            return
        sop = frames[0].sop_instance_uid
        if sop and sop in self.seen_sop:
            self.problems.append(FileProblem(path, "duplicate instance (same SOP Instance UID as "
                                             "another file); skipped", "warning"))
            return
        self.seen_sop.add(sop)
        self.frames.extend(frames)
        series_uid = frames[0].series_instance_uid
        if series_uid not in self.descriptors:
            ds = ds if ds is not None else read_dataset(path)
            self.descriptors[series_uid] = _descriptor(ds)
            self.patient_of_study.setdefault(frames[0].study_instance_uid, str(ds.get("PatientID", "")))

    def build(self) -> DicomIndex:
        index = DicomIndex(self.root, problems=self.problems)
        studies: dict[str, StudyRecord] = {}
        for series in self._dicom_series() + self._raster_series():
            studies.setdefault(series.study_instance_uid, StudyRecord(series.study_instance_uid))
            studies[series.study_instance_uid].series.append(series)
        patients: dict[str, PatientRecord] = {}
        for study in studies.values():
            key = self.patient_of_study.get(study.study_instance_uid, "")
            patients.setdefault(key, PatientRecord(key)).studies.append(study)
        index.patients = list(patients.values())
        return index

    def _dicom_series(self) -> list[SeriesRecord]:
        by_series: dict[str, list[Frame]] = {}
        for frame in self.frames:
            by_series.setdefault(frame.series_instance_uid, []).append(frame)
        records = []
        for uid, frames in by_series.items():
            stacks = split_into_stacks(frames)
            for number, stack in enumerate(stacks, 1):
                records.append(SeriesRecord(
                    uid, stack[0].study_instance_uid, stack[0].modality, self.descriptors[uid],
                    stack, stack_number=number, stack_count=len(stacks)))
        return records

    def _raster_series(self) -> list[SeriesRecord]:
        return [
            SeriesRecord("", "(plain images)", "OT", SeriesDescriptor(series_description=p.name),
                         raster_path=p)
            for p in self.raster
        ]


def _is_ignorable(reason: str) -> bool:
    return reason.startswith(("not a DICOM file", "DICOMDIR", "no pixel data"))


def _descriptor(ds: Dataset) -> SeriesDescriptor:
    number = ds.get("SeriesNumber")
    return SeriesDescriptor(
        patient_name=str(ds.get("PatientName", "")),
        patient_id=str(ds.get("PatientID", "")),
        study_date=str(ds.get("StudyDate", "")),
        study_description=str(ds.get("StudyDescription", "")),
        series_description=str(ds.get("SeriesDescription", "")),
        series_number=int(number) if number not in (None, "") else None,
        body_part_examined=str(ds.get("BodyPartExamined", "")),
        accession_number=str(ds.get("AccessionNumber", "")),
    )


def split_into_stacks(frames: Iterable[Frame]) -> list[list[Frame]]:
    """Split one series' frames into coherent stacks.

    Frames of another size or orientation form another stack; frames without position each
    stay with their own file; a frame at a position its stack already holds opens (or joins)
    the next stack — so interleaved echoes or the magnitude/phase halves of an enhanced MR come
    apart instead of being stacked as one volume.
    """
    ordered = sorted(frames, key=lambda f: (f.instance_number or 0, str(f.path), f.frame_index))
    stacks: list[list[Frame]] = []
    taken: list[set[tuple[int, int, int]]] = []
    for frame in ordered:
        slot = _stack_for(frame, stacks, taken)
        if slot == len(stacks):
            stacks.append([])
            taken.append(set())
        stacks[slot].append(frame)
        if frame.position is not None:
            taken[slot].add(_position_key(frame.position))
    return stacks


def _stack_for(frame: Frame, stacks: list[list[Frame]], taken: list[set]) -> int:
    for n, stack in enumerate(stacks):
        head = stack[0]
        if (head.rows, head.columns) != (frame.rows, frame.columns):
            continue
        if frame.position is None or head.position is None:
            if frame.position is None and head.position is None and head.path == frame.path:
                return n
            continue
        if not _same_orientation(head.orientation, frame.orientation):
            continue
        if _position_key(frame.position) not in taken[n]:
            return n
    return len(stacks)


def _same_orientation(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> bool:
    if a is None or b is None:
        return a is b
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-3


def _position_key(position: tuple[float, ...]) -> tuple[int, int, int]:
    """Position rounded to the tolerance, so that equal positions hash alike."""
    return tuple(round(x / _POSITION_TOLERANCE_MM) for x in position)  # type: ignore[return-value]
