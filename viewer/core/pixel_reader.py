"""Decoding frames' pixels into a destination array, with Rescale Slope/Intercept applied.

Native little-endian grey frames are read straight from the file into the destination slice
(no intermediate copy). Everything else — compressed transfer syntaxes, big endian, colour,
odd bit depths — is decoded by pydicom's pixel data plugins in a pool of worker processes
(`decode_pool`: parallel, one task per file, under a time and memory budget), then rescaled into
its slice. Colour frames are converted to luminance.

An int16 destination is chosen when the rescale is exact (slope 1, integer intercept); should a
decoded value then not fit, `ValuesDoNotFit` is raised and the caller reads again into float32.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from viewer.core import decode_pool
from viewer.core.charls_decode import FrameHint
from viewer.core.dicom_frames import Frame
from viewer.core.frame_decoder import PixelDecodeError

__all__ = ["PixelDecodeError", "ValuesDoNotFit", "output_dtype", "read_frame_into", "read_stack"]

_STORED_DTYPES = {(8, 0): np.uint8, (8, 1): np.int8, (16, 0): np.uint16, (16, 1): np.int16}
_INT16_MIN, _INT16_MAX = -32768, 32767


class ValuesDoNotFit(Exception):
    """A rescaled value does not fit the int16 destination: read again into float32."""


def output_dtype(frames: list[Frame]) -> np.dtype:
    """int16 when the rescale is exact (integer HU for CT), else float32.

    The declared BitsStored range often exceeds int16 once the intercept is added (CT stored as
    signed 16 bits with intercept −1024) while the real values fit; they are checked as each
    slice lands (`ValuesDoNotFit`).
    """
    for frame in frames:
        integral = frame.rescale_slope == 1 and float(frame.rescale_intercept).is_integer()
        grey = frame.samples_per_pixel == 1
        if not (integral and grey and frame.bits_allocated <= 16
                and abs(frame.rescale_intercept) <= 65535):
            return np.dtype(np.float32)
    return np.dtype(np.int16)


def _fast_path_dtype(frame: Frame) -> type | None:
    """Stored dtype when the frame can be read raw from the file, else None."""
    if not frame.is_native_little_endian or frame.samples_per_pixel != 1:
        return None
    dtype = _STORED_DTYPES.get((frame.bits_allocated, frame.pixel_representation))
    if dtype is None:
        return None
    if frame.pixel_representation and frame.bits_stored != frame.bits_allocated:
        return None  # needs sign extension: pydicom does it
    return dtype


def read_frame_into(frame: Frame, out: np.ndarray) -> None:
    """Read one native frame into ``out`` (rows × columns) with the modality rescale applied."""
    stored = _fast_path_dtype(frame)
    if stored is None:
        raise PixelDecodeError("not a native frame")  # decoded through the pool instead
    frame_bytes = frame.rows * frame.columns * np.dtype(stored).itemsize
    offset = frame.pixel_offset + frame.frame_index * frame_bytes  # type: ignore[operator]
    if out.dtype == np.int16 and stored in (np.uint16, np.int16) and out.flags.c_contiguous:
        raw = out.view(stored)
        _read_exact(frame.path, offset, raw)
        _check_fits(raw, frame.rescale_intercept)
        if frame.rescale_intercept:
            out += np.int16(frame.rescale_intercept)
        return
    raw = np.empty((frame.rows, frame.columns), dtype=stored)
    _read_exact(frame.path, offset, raw)
    _rescale_into(raw, frame, out)


def _read_exact(path: Path, offset: int, out: np.ndarray) -> None:
    with open(path, "rb") as fh:
        fh.seek(offset)
        got = fh.readinto(memoryview(out).cast("B"))
    if got != out.nbytes:
        raise PixelDecodeError(f"pixel data truncated ({got} of {out.nbytes} bytes present)")


def _check_fits(values: np.ndarray, intercept: float) -> None:
    """Raise `ValuesDoNotFit` when values + intercept leave the int16 range."""
    if values.size == 0:
        return
    lo, hi = int(values.min()) + int(intercept), int(values.max()) + int(intercept)
    if lo < _INT16_MIN or hi > _INT16_MAX:
        raise ValuesDoNotFit(f"values {lo}..{hi} do not fit int16")


def _rescale_into(stored: np.ndarray, frame: Frame, out: np.ndarray) -> None:
    values = stored
    if values.ndim == 3:  # colour: ITU-R BT.601 luminance
        values = values[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if values.shape != out.shape:
        raise PixelDecodeError(f"decoded frame is {values.shape}, expected {out.shape}")
    if out.dtype == np.int16:
        _check_fits(values, frame.rescale_intercept)
        np.add(values, np.int32(frame.rescale_intercept), out=out, casting="unsafe")
        return
    np.multiply(values, frame.rescale_slope, out=out, casting="unsafe")
    out += np.asarray(frame.rescale_intercept, dtype=out.dtype)


def decoded_nbytes(frame: Frame) -> int:
    """Bytes the decoder will produce for all frames of ``frame``'s file."""
    per_sample = max(1, (frame.bits_allocated + 7) // 8)
    return frame.rows * frame.columns * frame.samples_per_pixel * per_sample * frame.number_of_frames


def read_stack(frames: list[Frame], out: np.ndarray,
               cancel: threading.Event | None = None) -> Iterator[tuple[int, PixelDecodeError | None]]:
    """Read frames[k] into out[k] for each k, yielding (k, error or None) as each lands.

    Native frames are read in this thread; the others are decoded in the pool, one task per
    file, while the native ones are read. A frame that fails is left at zero and its error is
    yielded; reading goes on with the next frame (the caller decides how a failed slice is
    shown). Raises `ValuesDoNotFit` (int16 destination only).
    """
    native, by_file = _split_by_path(frames)
    jobs = []
    for path, ks in by_file.items():
        failed = decode_pool.FAILED.get(path)
        if failed is not None:
            yield from _fail_all(ks, out, failed)
        else:
            jobs.append(decode_pool.Job(path, decoded_nbytes(frames[ks[0]]), _hint(frames[ks[0]])))
    decoded = decode_pool.decode_files(jobs, cancel)
    first = next(decoded, None) if jobs and not native else None  # first slice on screen early
    if first is not None:
        yield from _place(first, by_file, frames, out)
    for k in native:
        yield k, _read_native(frames[k], out[k])
    for result in decoded:
        yield from _place(result, by_file, frames, out)


_JPEG_LS = ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81")


def _hint(frame: Frame) -> FrameHint | None:
    """What lets a worker decode a single grey JPEG-LS frame without parsing its header."""
    if (frame.transfer_syntax_uid not in _JPEG_LS or frame.encapsulated_offset is None
            or frame.number_of_frames != 1 or frame.samples_per_pixel != 1):
        return None
    return (frame.encapsulated_offset, frame.rows, frame.columns, frame.bits_allocated,
            frame.bits_stored, frame.pixel_representation)


def _split_by_path(frames: list[Frame]) -> tuple[list[int], dict[Path, list[int]]]:
    native: list[int] = []
    by_file: dict[Path, list[int]] = {}
    for k, frame in enumerate(frames):
        if _fast_path_dtype(frame) is not None:
            native.append(k)
        else:
            by_file.setdefault(frame.path, []).append(k)
    return native, by_file


def _read_native(frame: Frame, out: np.ndarray) -> PixelDecodeError | None:
    try:
        read_frame_into(frame, out)
    except (PixelDecodeError, OSError, ValueError) as exc:
        out[...] = 0
        return exc if isinstance(exc, PixelDecodeError) else PixelDecodeError(str(exc))
    return None


def _fail_all(ks: list[int], out: np.ndarray,
              error: PixelDecodeError) -> Iterator[tuple[int, PixelDecodeError]]:
    for k in ks:
        out[k] = 0
        yield k, error


def _place(result: tuple[Path, np.ndarray | PixelDecodeError], by_file: dict[Path, list[int]],
           frames: list[Frame], out: np.ndarray) -> Iterator[tuple[int, PixelDecodeError | None]]:
    path, pixels = result
    ks = by_file[path]
    if isinstance(pixels, PixelDecodeError):
        yield from _fail_all(ks, out, pixels)
        return
    for k in ks:
        index = frames[k].frame_index
        try:
            if index >= len(pixels):
                raise PixelDecodeError(f"frame {index + 1} missing ({len(pixels)} decoded)")
            _rescale_into(pixels[index], frames[k], out[k])
        except PixelDecodeError as exc:
            out[k] = 0
            yield k, exc
            continue
        yield k, None
