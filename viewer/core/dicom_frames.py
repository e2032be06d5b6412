"""Reading one DICOM file's header into `Frame` records — one per image frame.

A classic single-frame image (CT, MR, CR…) gives one `Frame`; an enhanced multi-frame image
(PS3.3 C.7.6.16, Per-frame and Shared Functional Groups) gives one per frame, each with its
own ImagePositionPatient, orientation, pixel spacing and rescale. Pixel data are *not* read
here: for native (uncompressed) little-endian files the byte offset of the pixel data is kept
so `pixel_reader` can read them straight into the destination array.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from viewer.core.dicom_header_scan import ENCAPSULATED_AT, scan_header

#: Media Storage Directory Storage (the DICOMDIR itself, PS3.10 / PS3.3 F).
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
NATIVE_LITTLE_ENDIAN = {ImplicitVRLittleEndian, ExplicitVRLittleEndian}
PIXEL_DATA_TAG = 0x7FE00010


# Tags read for every file, by keyword → (tag, VR). Reading these straight from the raw
# little-endian bytes is ~10× faster than pydicom's generic value conversion and validation.
_TAGS: dict[str, tuple[int, str]] = {
    "SOPClassUID": (0x00080016, "UI"), "SOPInstanceUID": (0x00080018, "UI"),
    "Modality": (0x00080060, "CS"), "StudyInstanceUID": (0x0020000D, "UI"),
    "SeriesInstanceUID": (0x0020000E, "UI"), "InstanceNumber": (0x00200013, "IS"),
    "ImagePositionPatient": (0x00200032, "DS"), "ImageOrientationPatient": (0x00200037, "DS"),
    "SamplesPerPixel": (0x00280002, "US"), "PhotometricInterpretation": (0x00280004, "CS"),
    "NumberOfFrames": (0x00280008, "IS"), "Rows": (0x00280010, "US"), "Columns": (0x00280011, "US"),
    "PixelSpacing": (0x00280030, "DS"), "ImagerPixelSpacing": (0x00181164, "DS"),
    "BitsAllocated": (0x00280100, "US"), "BitsStored": (0x00280101, "US"),
    "PixelRepresentation": (0x00280103, "US"), "WindowCenter": (0x00281050, "DS"),
    "WindowWidth": (0x00281051, "DS"), "RescaleIntercept": (0x00281052, "DS"),
    "RescaleSlope": (0x00281053, "DS"), "SliceThickness": (0x00180050, "DS"),
    "SpacingBetweenSlices": (0x00180088, "DS"),
}


def _decode(raw: bytes, vr: str) -> object:
    """A little-endian raw value as int (US), str, or list of str (multi-valued DS/IS)."""
    if vr == "US":
        return int.from_bytes(raw[:2], "little") if len(raw) >= 2 else None
    text = raw.decode("latin-1").strip(" \x00")
    if vr in ("DS", "IS"):
        parts = [p.strip() for p in text.split("\\")]
        return parts if len(parts) > 1 else (parts[0] or None)
    return text


class _Header:
    """Reads `_TAGS` values from a dataset, from raw bytes when possible, else via pydicom."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        encoding = getattr(ds, "original_encoding", (None, None))
        self.little_endian = encoding[1] is True

    def get(self, keyword: str) -> object:
        tag, vr = _TAGS[keyword]
        elem = self.ds.get_item(tag)
        if elem is None:
            return None
        raw = getattr(elem, "value", None)
        if not isinstance(raw, bytes) or not self.little_endian or elem.VR not in (None, vr):
            return self.ds.get(keyword)
        return _decode(raw, vr)


class _ScannedHeader:
    """`_TAGS` values from `scan_header`'s raw bytes."""

    def __init__(self, found: dict[int, bytes | int]) -> None:
        self.found = found

    def get(self, keyword: str) -> object:
        tag, vr = _TAGS[keyword]
        raw = self.found.get(tag)
        return None if raw is None else _decode(raw, vr)  # type: ignore[arg-type]


_WANTED = {tag: vr for tag, vr in _TAGS.values()}


def frames_from_scan(path: Path) -> list[Frame] | None:
    """Frames of a plain little-endian single- or multi-frame file via the fast scanner.

    None when the scanner declines (the caller then reads the file with pydicom).
    """
    found = scan_header(path, _WANTED)
    if found is None or PIXEL_DATA_TAG not in found:
        return None
    header = _ScannedHeader(found)
    if header.get("Rows") is None or header.get("Columns") is None or header.get("BitsAllocated") is None:
        return None
    ts = found[0x00020010].rstrip(b"\0 ").decode("ascii")  # type: ignore[union-attr]
    offset = int(found[PIXEL_DATA_TAG])  # type: ignore[arg-type]
    native = ts in NATIVE_LITTLE_ENDIAN and offset >= 0
    common = _common_fields(path, header, ts, offset if native else None)
    common["encapsulated_offset"] = None if native else found.get(ENCAPSULATED_AT)
    n_frames = _frame_count(header)
    _checked(common, n_frames)
    geometry = _classic_geometry(header)
    return [Frame(frame_index=i, number_of_frames=n_frames, **common, **geometry)
            for i in range(n_frames)]


class NotAnImageError(Exception):
    """The file is readable but holds no image (or is not DICOM at all)."""


@dataclass(frozen=True)
class Frame:
    """One 2D image frame and everything needed to place it and decode it."""

    path: Path
    frame_index: int  # 0-based frame within the file
    number_of_frames: int
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    modality: str
    rows: int
    columns: int
    position: tuple[float, float, float] | None  # ImagePositionPatient (0020,0032)
    orientation: tuple[float, ...] | None  # ImageOrientationPatient (0020,0037), 6 values
    pixel_spacing: tuple[float, float] | None  # (row spacing, column spacing) mm
    rescale_slope: float
    rescale_intercept: float
    window_center: float | None
    window_width: float | None
    instance_number: int | None
    photometric_interpretation: str
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    transfer_syntax_uid: str
    pixel_offset: int | None  # byte offset of the native pixel data, None when encapsulated
    slice_thickness: float | None = None
    spacing_between_slices: float | None = None
    imager_pixel_spacing: tuple[float, float] | None = None
    encapsulated_offset: int | None = None  # byte offset of encapsulated pixel data's items

    @property
    def is_native_little_endian(self) -> bool:
        return self.pixel_offset is not None

    @property
    def is_multiframe(self) -> bool:
        return self.number_of_frames > 1


#: Bytes pydicom may *read* (not seek past) while parsing a header, and the longest run of
#: zero bytes it may read: big values are deferred (skipped by seeking), so a header never
#: needs more — a sparse or zero-filled file would otherwise parse as millions of empty elements.
HEADER_READ_BUDGET = 64 * 1024**2
ZERO_RUN_LIMIT = 64 * 1024**2


_EMPTY_ELEMENT = bytes(8)


class _HeaderBudgetExceeded(Exception):
    pass


class _BudgetedFile:
    """A binary file whose reads are counted: parsing stops at `HEADER_READ_BUDGET`."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.name = fh.name
        self._read = 0
        self._zeros = 0

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        if size == 8 and data == _EMPTY_ELEMENT and self._skip_empty_elements():
            data = self._fh.read(8)  # the header of the element after the run
        self._read += len(data)
        self._zeros = self._zeros + len(data) if data and not data.strip(b"\0") else 0
        if self._read > HEADER_READ_BUDGET or self._zeros > ZERO_RUN_LIMIT:
            raise _HeaderBudgetExceeded()
        return data

    def _skip_empty_elements(self) -> int:
        """After an all-zero element header, skip the whole run of empty (0000,0000) elements.

        pydicom would parse them one by one (a real GE MR file holds 2.4 MB of them: seconds).
        A zero *value* of 8 bytes is followed by the next element's non-zero tag, so nothing
        is skipped then. Returns the bytes skipped (a multiple of 8).
        """
        start = self._fh.tell()
        run = 0
        while run <= ZERO_RUN_LIMIT:
            chunk = self._fh.read(65536)
            stripped = chunk.lstrip(b"\0")
            run += len(chunk) - len(stripped)
            if stripped or not chunk:
                break
        if run > ZERO_RUN_LIMIT:
            raise _HeaderBudgetExceeded()
        whole = run // 8 * 8
        self._fh.seek(start + whole)
        return whole

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        self._fh.close()


def _dcmread(path: Path, force: bool = False) -> Dataset:
    with open(path, "rb") as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # problems are reported per file, not as warnings
        try:
            ds = pydicom.dcmread(_BudgetedFile(fh), defer_size=2048, force=force)
        except _HeaderBudgetExceeded:
            raise NotAnImageError("not a DICOM header (endless empty or oversized elements)") from None
    # deferred values are read later from the file by name, not through the closed wrapper
    ds.filename, ds.fileobj_type, ds.buffer = str(path), open, None
    return ds


def _looks_like_raw_dataset(path: Path) -> bool:
    """A raw data set (no preamble) starts with a group 0002–0008 element, little endian."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    return len(head) == 8 and 0x0002 <= int.from_bytes(head[:2], "little") <= 0x0008


def read_dataset(path: Path) -> Dataset:
    """Read a DICOM header (pixel data deferred). Raises `NotAnImageError` with a reason.

    Files without the PS3.10 preamble and meta header (written by old software) are read as a
    raw data set when that yields recognisable DICOM elements.
    """
    try:
        return _dcmread(path)
    except InvalidDicomError:
        pass
    except NotAnImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on corrupt headers
        raise NotAnImageError(f"unreadable DICOM header ({one_line(exc)})") from None
    if not _looks_like_raw_dataset(path):
        raise NotAnImageError("not a DICOM file (no 'DICM' prefix)")
    try:
        ds = _dcmread(path, force=True)
        recognisable = "SOPClassUID" in ds or PIXEL_DATA_TAG in ds
    except Exception:  # noqa: BLE001 - pydicom raises many types on non-DICOM input
        recognisable = False
    if not recognisable:
        raise NotAnImageError("not a DICOM file (no 'DICM' prefix)")
    return ds


def one_line(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message.

    Only printable characters are kept (a corrupt value quoted by a decoder is cut short).
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = "".join(c if c.isprintable() else "?" for c in text[:160])
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def frames_from_dataset(path: Path, ds: Dataset) -> list[Frame]:
    """All image frames of one dataset. Raises `NotAnImageError` for a non-image object."""
    header = _Header(ds)
    if str(header.get("SOPClassUID") or "") == MEDIA_STORAGE_DIRECTORY:
        raise NotAnImageError("DICOMDIR (media directory, holds no image itself)")
    if PIXEL_DATA_TAG not in ds:
        kind = _sop_class_name(ds)
        if "Image Storage" in kind:  # an image without its pixels: cut short, not a non-image
            raise NotAnImageError(f"pixel data missing, file truncated? ({kind})")
        raise NotAnImageError(f"no pixel data ({kind})")
    for keyword in ("Rows", "Columns", "BitsAllocated"):
        if header.get(keyword) in (None, ""):
            raise NotAnImageError(f"pixel data without {keyword}")
    common = _common_fields(path, header, *_syntax_and_offset(ds))
    n_frames = _frame_count(header)
    _checked(common, n_frames)
    if "PerFrameFunctionalGroupsSequence" in ds:
        return _enhanced_frames(ds, common, n_frames)
    geometry = _classic_geometry(header)
    return [
        Frame(frame_index=i, number_of_frames=n_frames, **common, **geometry)
        for i in range(n_frames)
    ]


def _sop_class_name(ds: Dataset) -> str:
    """The SOP class's name, its UID when valid but unnamed, else 'unknown object'.

    Never raw bytes: a corrupt value can run into the following elements (patient data).
    """
    try:
        uid = pydicom.uid.UID(str(ds.get("SOPClassUID") or ""))
    except Exception:  # noqa: BLE001 - an unreadable value is simply unknown
        return "unknown object"
    if not uid.is_valid:
        return "unknown object"
    return uid.name if uid.name != str(uid) else str(uid)


def _syntax_and_offset(ds: Dataset) -> tuple[str, int | None]:
    """Transfer syntax, and the byte offset of native little-endian pixel data (else None)."""
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    if not ts:  # no file meta: pydicom tells how it decoded the data set
        ts = ImplicitVRLittleEndian if ds.is_implicit_VR else ExplicitVRLittleEndian
    raw = ds.get_item(PIXEL_DATA_TAG, keep_deferred=True)
    deferred = raw is not None and hasattr(raw, "value_tell") and raw.value is None
    if ts in NATIVE_LITTLE_ENDIAN and deferred and raw.length not in (None, 0xFFFFFFFF):
        return ts, int(raw.value_tell)
    return ts, None


#: The most decoded pixel bytes one file may hold (a memory budget for its decoder).
MAX_DECODED_BYTES = 2 * 1024**3
_BITS_ALLOCATED = (1, 8, 16, 32, 64)


def _checked(fields: dict, n_frames: int) -> dict:
    """Raise `NotAnImageError` for image attributes no decoder can honour (one-line reason)."""
    rows, columns = fields["rows"], fields["columns"]
    allocated, stored = fields["bits_allocated"], fields["bits_stored"]
    if rows < 1 or columns < 1:
        raise NotAnImageError(f"invalid image size: Rows {rows}, Columns {columns}")
    if allocated not in _BITS_ALLOCATED:
        raise NotAnImageError(f"invalid BitsAllocated {allocated}")
    if not 1 <= stored <= allocated:
        raise NotAnImageError(f"invalid BitsStored {stored} (BitsAllocated {allocated})")
    if fields["samples_per_pixel"] not in (1, 3, 4) or fields["pixel_representation"] not in (0, 1):
        raise NotAnImageError("invalid SamplesPerPixel or PixelRepresentation")
    if n_frames < 1:
        raise NotAnImageError(f"invalid NumberOfFrames {n_frames}")
    nbytes = rows * columns * fields["samples_per_pixel"] * max(1, allocated // 8) * n_frames
    if nbytes > MAX_DECODED_BYTES:
        raise NotAnImageError(f"image too large to decode ({nbytes / 1e9:.1f} GB declared)")
    return fields


def _common_fields(path: Path, header: _Header | _ScannedHeader, ts: str, offset: int | None) -> dict:
    get = header.get
    bits_allocated = _int_or_none(get("BitsAllocated"))
    if bits_allocated is None:
        raise NotAnImageError("invalid BitsAllocated")
    return {
        "path": path,
        "sop_instance_uid": str(get("SOPInstanceUID") or ""),
        "series_instance_uid": str(get("SeriesInstanceUID") or ""),
        "study_instance_uid": str(get("StudyInstanceUID") or ""),
        "modality": str(get("Modality") or "OT"),
        "rows": _int_or_none(get("Rows")) or 0,
        "columns": _int_or_none(get("Columns")) or 0,
        "instance_number": _int_or_none(get("InstanceNumber")),
        "photometric_interpretation": str(get("PhotometricInterpretation") or "MONOCHROME2"),
        "samples_per_pixel": _int_or_none(get("SamplesPerPixel")) or 1,
        "bits_allocated": bits_allocated,
        "bits_stored": _int_or_none(get("BitsStored")) or bits_allocated,
        "pixel_representation": _int_or_none(get("PixelRepresentation")) or 0,
        "transfer_syntax_uid": ts,
        "pixel_offset": offset,
    }


def _classic_geometry(header: _Header | _ScannedHeader) -> dict:
    get = header.get
    return {
        "position": _floats(get("ImagePositionPatient"), 3),
        "orientation": _orientation(get("ImageOrientationPatient")),
        "pixel_spacing": _positive(_floats(get("PixelSpacing"), 2)),
        "imager_pixel_spacing": _positive(_floats(get("ImagerPixelSpacing"), 2)),
        "rescale_slope": _float_or(get("RescaleSlope"), 1.0),
        "rescale_intercept": _float_or(get("RescaleIntercept"), 0.0),
        "window_center": _first_float(get("WindowCenter")),
        "window_width": _first_float(get("WindowWidth")),
        "slice_thickness": _first_float(get("SliceThickness")),
        "spacing_between_slices": _first_float(get("SpacingBetweenSlices")),
    }


def _enhanced_frames(ds: Dataset, common: dict, n_frames: int) -> list[Frame]:
    shared = ds.get("SharedFunctionalGroupsSequence")
    shared_item = shared[0] if shared else Dataset()
    per_frame = ds.PerFrameFunctionalGroupsSequence
    if len(per_frame) != n_frames:
        raise NotAnImageError(
            f"enhanced image lists {len(per_frame)} per-frame groups for {n_frames} frames"
        )
    return [
        Frame(frame_index=i, number_of_frames=n_frames, **common,
              **_functional_group_geometry(per_frame[i], shared_item))
        for i in range(n_frames)
    ]


def _group_item(per_frame: Dataset, shared: Dataset, sequence: str) -> Dataset | None:
    """The functional group macro for one frame: per-frame first, then shared (PS3.3 C.7.6.16)."""
    for source in (per_frame, shared):
        seq = source.get(sequence)
        if seq:
            return seq[0]
    return None


def _functional_group_geometry(per_frame: Dataset, shared: Dataset) -> dict:
    position = _group_item(per_frame, shared, "PlanePositionSequence")
    orientation = _group_item(per_frame, shared, "PlaneOrientationSequence")
    measures = _group_item(per_frame, shared, "PixelMeasuresSequence")
    rescale = _group_item(per_frame, shared, "PixelValueTransformationSequence")
    voi = _group_item(per_frame, shared, "FrameVOILUTSequence")
    empty = Dataset()
    measures = measures or empty
    return {
        "position": _floats((position or empty).get("ImagePositionPatient"), 3),
        "orientation": _orientation((orientation or empty).get("ImageOrientationPatient")),
        "pixel_spacing": _positive(_floats(measures.get("PixelSpacing"), 2)),
        "imager_pixel_spacing": None,
        "rescale_slope": _float_or((rescale or empty).get("RescaleSlope"), 1.0),
        "rescale_intercept": _float_or((rescale or empty).get("RescaleIntercept"), 0.0),
        "window_center": _first_float((voi or empty).get("WindowCenter")),
        "window_width": _first_float((voi or empty).get("WindowWidth")),
        "slice_thickness": _first_float(measures.get("SliceThickness")),
        "spacing_between_slices": _first_float(measures.get("SpacingBetweenSlices")),
    }


def _frame_count(header: _Header | _ScannedHeader) -> int:
    """NumberOfFrames; absent, 0 or unreadable counts as one frame (negative is refused)."""
    count = _int_or_none(header.get("NumberOfFrames"))
    return count or 1


#: Coordinates (mm) beyond this are garbage, not anatomy.
_MAX_COORDINATE_MM = 1e6


def _orientation(value: object) -> tuple[float, ...] | None:
    """ImageOrientationPatient when it holds two unit-length, orthogonal vectors, else None."""
    values = _floats(value, 6)
    if values is None:
        return None
    row, col = np.asarray(values[:3]), np.asarray(values[3:])
    norms = np.linalg.norm(row), np.linalg.norm(col)
    if min(norms) < 0.5 or max(norms) > 1.5 or abs(row @ col) / (norms[0] * norms[1]) > 0.1:
        return None
    return values


def _floats(value: object, n: int) -> tuple[float, ...] | None:
    if value is None or value == "" or isinstance(value, str):
        return None
    try:
        values = tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if len(values) != n or not np.all(np.isfinite(values)):
        return None
    if max(abs(v) for v in values) > _MAX_COORDINATE_MM:
        return None
    return values


def _positive(values: tuple[float, ...] | None) -> tuple[float, ...] | None:
    """Spacings must be > 0; a zero spacing (seen in the wild) means 'unknown'."""
    return values if values is not None and min(values) > 0 else None


def _first_float(value: object) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else None
    return _float_or(value, None)


def _float_or(value: object, default: float | None) -> float | None:  # type: ignore[misc]
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return result if np.isfinite(result) else default


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
