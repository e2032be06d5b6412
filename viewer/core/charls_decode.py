"""Single-frame grey JPEG-LS straight through CharLS (pyjpegls), without pydicom's decode runner.

Same library and the same sign handling as pydicom's ``pyjpegls`` plugin, minus its per-call
option and buffer bookkeeping: measured here at 0.70 s of CPU for LIDC-0001's 133 slices
through ``ds.pixel_array`` against 0.54 s for CharLS itself (bench/RESULTS.md). Anything else
(multi-frame, colour, a header that disagrees with the dataset) returns None and goes through
pydicom's plugins as before. `decode_at` goes further: given what the index already read
(the offset of the encapsulated pixel data and the image attributes), it skips pydicom's header
parse as well (0.07 s of the 0.70 s).
"""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.encaps import generate_frames

try:
    import jpeg_ls
except ImportError:  # pragma: no cover - pyjpegls is a pinned dependency
    jpeg_ls = None


#: What the index knows of a single grey JPEG-LS frame: (byte offset of the encapsulated
#: pixel data, rows, columns, BitsAllocated, BitsStored, PixelRepresentation).
FrameHint = tuple[int, int, int, int, int, int]


def decode_grey_frame(ds: pydicom.Dataset) -> np.ndarray | None:
    """(rows, columns) stored values of a single-frame grey JPEG-LS dataset, or None."""
    if jpeg_ls is None or not _simple_grey(ds):
        return None
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    return _decode(frame, int(ds.Rows), int(ds.Columns), int(ds.BitsAllocated),
                   int(ds.BitsStored), int(ds.PixelRepresentation))


def decode_at(path: str, hint: FrameHint) -> np.ndarray | None:
    """The same from the file's bytes at the offset its index found: no header parse here."""
    offset, rows, columns, bits_allocated, bits_stored, representation = hint
    if jpeg_ls is None or bits_allocated not in (8, 16) or not 0 < bits_stored <= bits_allocated:
        return None
    with open(path, "rb") as fh:
        fh.seek(offset)
        encapsulated = fh.read()
    frame = next(generate_frames(encapsulated, number_of_frames=1))
    return _decode(frame, rows, columns, bits_allocated, bits_stored, representation)


def _decode(frame: bytes, rows: int, columns: int, bits_allocated: int, bits_stored: int,
            representation: int) -> np.ndarray | None:
    buffer, info = jpeg_ls.decode_buffer(frame)
    if (info["width"], info["height"], info["components"]) != (columns, rows, 1):
        return None
    if -(-info["bits_per_sample"] // 8) != bits_allocated // 8:
        return None
    signed = representation == 1
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits_allocated // 8}")
    values = np.frombuffer(buffer, dtype=dtype).reshape(rows, columns)
    shift = bits_allocated - bits_stored
    if signed and shift:  # JPEG-LS keeps no sign: extend it from BitsStored, as pydicom does
        values = (values << shift) >> shift
    return values


def _simple_grey(ds: pydicom.Dataset) -> bool:
    try:
        return (int(ds.get("NumberOfFrames") or 1) == 1 and int(ds.SamplesPerPixel) == 1
                and int(ds.BitsAllocated) in (8, 16) and 0 < int(ds.BitsStored) <= int(ds.BitsAllocated)
                and int(ds.PixelRepresentation) in (0, 1) and "PixelData" in ds)
    except (AttributeError, TypeError, ValueError):
        return False
