"""Index a folder tree, a DICOMDIR or single files into patient → study → series.

`index_path` reads every file's header once (pixel data deferred), skips what is not an image
with a reason, and groups frames into `SeriesRecord`s. A SeriesInstanceUID (0020,000E) that
holds several *stacks* — images of another size or orientation, or a second image at a
position already taken (e.g. the two echoes of a multi-frame MR) — is split into one record per
stack, so that a loaded series is always one coherent grid. Plain PNG/JPEG files become
single-image records without geometry.
"""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from viewer.core import decode_pool
from viewer.core.dicom_frames import (
    Frame,
    NotAnImageError,
    frames_from_dataset,
    frames_from_scan,
    one_line,
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
        """Every frame is placed: position, orientation and a valid PixelSpacing."""
        return bool(self.frames) and all(
            f.position and f.orientation and f.pixel_spacing for f in self.frames)

    @property
    def positioned_without_spacing(self) -> bool:
        """Positioned frames whose PixelSpacing is missing, zero or garbage."""
        return bool(self.frames) and all(f.position and f.orientation for f in self.frames) \
            and not self.has_geometry

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
    if not root.exists() and not root.is_symlink():
        raise FileNotFoundError(f"{root} does not exist")
    builder = _IndexBuilder(root)
    files = _files_under(root, builder.problems)
    for n, file in enumerate(files, 1):
        builder.add_file(file)
        if progress:
            progress(n, len(files))
    return builder.build()


def series_of_file(path: str | os.PathLike[str]) -> SeriesRecord | None:
    """The series record of one file on its own (None when it holds no readable image): a thumbnail's
    source. Unlike :func:`index_path` it starts no decoder processes for a compressed file."""
    builder = _IndexBuilder(Path(path))
    builder.add_file(Path(path))
    series = builder._dicom_series() + builder._raster_series()
    return series[0] if series else None


def _files_under(root: Path, problems: list[FileProblem]) -> list[Path]:
    if root.is_file() and root.name.upper() == "DICOMDIR":
        return _dicomdir_files(root, problems)
    if not root.is_dir():
        return [root]

    def unreadable(error: OSError) -> None:
        folder = Path(error.filename or root)
        problems.append(FileProblem(folder, f"folder cannot be read ({_os_reason(error)})"))

    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath, f) for f in sorted(filenames) if not f.startswith("."))
    return found


def _dicomdir_files(dicomdir: Path, problems: list[FileProblem]) -> list[Path]:
    """The image files a DICOMDIR references (PS3.10 File-set); missing ones are reported."""
    from pydicom.fileset import FileSet

    try:
        paths = sorted({Path(instance.path) for instance in FileSet(dicomdir)})
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on a corrupt DICOMDIR
        problems.append(FileProblem(dicomdir, f"DICOMDIR cannot be read ({one_line(exc)})"))
        return []
    present = [p for p in paths if p.exists()]
    problems.extend(FileProblem(p, "listed in the DICOMDIR but missing")
                    for p in paths if p not in present)
    return present


def _os_reason(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    return error.strerror or error.__class__.__name__


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file at all (permissions, not a regular file), or None."""
    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot be read ({_os_reason(exc)})"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a pipe, socket or device); skipped"
    if info.st_size == 0:
        return "empty file"
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        return f"cannot be read ({_os_reason(exc)})"
    return None


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
        """Index one file, or record in one line why it cannot be (never raises)."""
        reason = file_problem(path)
        if reason is not None:
            self.problems.append(FileProblem(path, reason))
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pydicom's value warnings: problems say it
                self._add_readable(path)
        except NotAnImageError as exc:
            severity = "ignored" if _is_ignorable(str(exc)) else "error"
            self.problems.append(FileProblem(path, str(exc), severity))
        except Exception as exc:  # noqa: BLE001 - one bad file never stops a folder
            self.problems.append(FileProblem(path, f"unreadable DICOM file ({one_line(exc)})"))

    def _add_readable(self, path: Path) -> None:
        if path.suffix.lower() in RASTER_SUFFIXES:
            self.raster.append(path)
            return
        ds = None
        frames = frames_from_scan(path)
        if frames is None:
            ds = read_dataset(path)
            frames = frames_from_dataset(path, ds)
        sop = frames[0].sop_instance_uid
        if sop and sop in self.seen_sop:
            self.problems.append(FileProblem(path, "duplicate instance (same SOP Instance UID as "
                                             "another file); skipped", "warning"))
            return
        series_uid = frames[0].series_instance_uid
        if series_uid not in self.descriptors:
            ds = ds if ds is not None else read_dataset(path)
            self.descriptors[series_uid] = _descriptor(ds)
            self.patient_of_study.setdefault(frames[0].study_instance_uid, _text(ds, "PatientID"))
        self.seen_sop.add(sop)
        self.frames.extend(frames)

    def build(self) -> DicomIndex:
        if any(not f.is_native_little_endian for f in self.frames):
            decode_pool.prestart()  # workers start while the user looks at the list
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
            frames, duplicates = drop_identical_duplicates(frames)
            self.problems.extend(duplicates)
            stacks = split_into_stacks(frames)
            self.problems.extend(_repeated_position_notes(stacks))
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


def _text(ds: Dataset, keyword: str) -> str:
    """A display attribute as text; '' when absent or unreadable (bad VR, bad characters)."""
    try:
        return str(ds.get(keyword, ""))
    except Exception:  # noqa: BLE001 - a corrupt display value never stops indexing
        return ""


def _descriptor(ds: Dataset) -> SeriesDescriptor:
    number = _text(ds, "SeriesNumber")
    return SeriesDescriptor(
        patient_name=_text(ds, "PatientName"),
        patient_id=_text(ds, "PatientID"),
        study_date=_text(ds, "StudyDate"),
        study_description=_text(ds, "StudyDescription"),
        series_description=_text(ds, "SeriesDescription"),
        series_number=int(number) if number.strip().lstrip("-").isdigit() else None,
        body_part_examined=_text(ds, "BodyPartExamined"),
        accession_number=_text(ds, "AccessionNumber"),
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


def drop_identical_duplicates(frames: list[Frame]) -> tuple[list[Frame], list[FileProblem]]:
    """Remove single-frame images that repeat another's position with identical pixels.

    Such files are copies of one instance (re-sent, re-exported with a new SOP Instance UID):
    they are reported as duplicates and left out, so they never form a phantom second stack.
    """
    by_place: dict[tuple, list[Frame]] = {}
    for frame in frames:
        if frame.position is not None and frame.number_of_frames == 1:
            by_place.setdefault(_place_key(frame), []).append(frame)
    dropped: set[Path] = set()
    problems = []
    for group in by_place.values():
        if len(group) < 2:
            continue
        kept: list[tuple[Frame, str | None]] = []
        for frame in group:
            digest = pixel_digest(frame)
            twin = next((k for k, d in kept if digest is not None and d == digest), None)
            if twin is None:
                kept.append((frame, digest))
                continue
            dropped.add(frame.path)
            problems.append(FileProblem(frame.path, f"duplicate of {twin.path.name} (same "
                                        "position, identical pixels); left out", "warning"))
    return [f for f in frames if f.path not in dropped], problems


def _place_key(frame: Frame) -> tuple:
    orientation = tuple(round(v, 3) for v in frame.orientation or ())
    return _position_key(frame.position), orientation, frame.rows, frame.columns  # type: ignore[arg-type]


def pixel_digest(frame: Frame) -> str | None:
    """A hash of a file's stored pixel data (native or encapsulated); None if unreadable."""
    try:
        if frame.pixel_offset is not None:
            nbytes = frame.rows * frame.columns * frame.samples_per_pixel * frame.bits_allocated // 8
            with open(frame.path, "rb") as fh:
                fh.seek(frame.pixel_offset)
                data = fh.read(nbytes)
        else:
            data = read_dataset(frame.path).PixelData
        return hashlib.blake2b(data, digest_size=16).hexdigest()
    except Exception:  # noqa: BLE001 - an unreadable file is simply not a twin
        return None


def _repeated_position_notes(stacks: list[list[Frame]]) -> list[FileProblem]:
    """Say why a series split: images at positions its first stack already holds."""
    notes = []
    head = stacks[0][0] if stacks else None
    for number, stack in enumerate(stacks[1:], 2):
        first = stack[0]
        if head is None or first.position is None or head.position is None:
            continue
        if (first.rows, first.columns) != (head.rows, head.columns) or \
                not _same_orientation(first.orientation, head.orientation):
            continue
        notes.append(FileProblem(first.path, f"{len(stack)} image(s) repeat slice positions of "
                                 f"their series with other pixels (duplicates, echoes or "
                                 f"phases): kept apart as stack #{number}", "warning"))
    return notes

