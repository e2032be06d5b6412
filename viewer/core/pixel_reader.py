"""Decoding frames' pixels into a destination array, with Rescale Slope/Intercept applied.

Native little-endian grey frames are read straight from the file into the destination slice
(no intermediate copy). Everything else — compressed transfer syntaxes, big endian, colour,
odd bit depths — goes through pydicom's pixel data handlers (pylibjpeg-libjpeg/-openjpeg/-rle,
python-gdcm): no home-made codecs. Colour frames are converted to luminance.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom

from viewer.core.dicom_frames import Frame

_DECODER_LOCK = threading.Lock()
_PREFERRED_PLUGINS = ("pylibjpeg", "pydicom", "")  # "" = any plugin pydicom has
_STORED_DTYPES = {(8, 0): np.uint8, (8, 1): np.int8, (16, 0): np.uint16, (16, 1): np.int16}


class PixelDecodeError(Exception):
    """A frame's pixel data could not be decoded (message in plain words)."""


def stored_value_range(frame: Frame) -> tuple[float, float]:
    """The range the stored values can take (BitsStored, PixelRepresentation)."""
    bits = frame.bits_stored
    if frame.pixel_representation:
        return -(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1
    return 0.0, 2.0**bits - 1


def output_dtype(frames: list[Frame]) -> np.dtype:
    """int16 when every rescaled value fits exactly (CT in HU), else float32."""
    for frame in frames:
        integral = frame.rescale_slope == 1 and float(frame.rescale_intercept).is_integer()
        lo, hi = stored_value_range(frame)
        lo, hi = lo + frame.rescale_intercept, hi + frame.rescale_intercept
        grey = frame.samples_per_pixel == 1
        if not (integral and grey and frame.bits_allocated <= 16 and -32768 <= lo and hi <= 32767):
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
    """Decode one frame into ``out`` (rows × columns) with the modality rescale applied."""
    stored = _fast_path_dtype(frame)
    if stored is None:
        _rescale_into(decode_with_pydicom(frame.path)[frame.frame_index], frame, out)
        return
    frame_bytes = frame.rows * frame.columns * np.dtype(stored).itemsize
    offset = frame.pixel_offset + frame.frame_index * frame_bytes  # type: ignore[operator]
    if out.dtype == np.int16 and stored in (np.uint16, np.int16) and out.flags.c_contiguous:
        _read_exact(frame.path, offset, out.view(stored))
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


def _rescale_into(stored: np.ndarray, frame: Frame, out: np.ndarray) -> None:
    values = stored
    if values.ndim == 3:  # colour: ITU-R BT.601 luminance
        values = values[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if values.shape != out.shape:
        raise PixelDecodeError(f"decoded frame is {values.shape}, expected {out.shape}")
    if frame.rescale_slope == 1 and out.dtype == np.int16:
        np.add(values, frame.rescale_intercept, out=out, casting="unsafe")
        return
    np.multiply(values, frame.rescale_slope, out=out, casting="unsafe")
    out += np.asarray(frame.rescale_intercept, dtype=out.dtype)


def decode_with_pydicom(path: Path) -> np.ndarray:
    """All frames of a file as (frames, rows, columns[, samples]) stored values.

    pydicom (3.x) returns colour frames as RGB whatever their YBR encoding. The pylibjpeg and
    pydicom plugins are tried first; python-gdcm and Pillow only when neither can decode:
    python-gdcm crashed the process (segfault in GetBuffer) decoding JPEG 2000 in a loader
    thread. Decoding is serialised process-wide for the same reason.
    """
    try:
        ds = pydicom.dcmread(path, force=True)
        with _DECODER_LOCK:
            pixels = _pixel_array(ds)
    except Exception as exc:  # noqa: BLE001 - decoders raise many types on corrupt data
        raise PixelDecodeError(_decoder_message(exc)) from exc
    if int(ds.get("NumberOfFrames") or 1) == 1:
        pixels = pixels[np.newaxis]
    return pixels


def _pixel_array(ds: pydicom.Dataset) -> np.ndarray:
    """Decode with the preferred plugins first, then with whatever pydicom has."""
    if not ds.file_meta.get("TransferSyntaxUID", pydicom.uid.ImplicitVRLittleEndian).is_compressed:
        return ds.pixel_array
    failure: Exception | None = None
    for plugin in _PREFERRED_PLUGINS:
        try:
            ds.pixel_array_options(decoding_plugin=plugin)
            return ds.pixel_array
        except Exception as exc:  # noqa: BLE001 - next plugin
            failure = exc
    raise failure  # type: ignore[misc]


def _decoder_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return f"pixel data could not be decoded ({text[:200]})"


@dataclass
class FrameCache:
    """Keeps the decoded frames of the last multi-frame file read through pydicom."""

    path: Path | None = None
    pixels: np.ndarray | None = None

    def frames_of(self, path: Path) -> np.ndarray:
        if path != self.path:
            self.pixels, self.path = decode_with_pydicom(path), path
        return self.pixels  # type: ignore[return-value]


def read_stack(frames: list[Frame], out: np.ndarray) -> Iterator[tuple[int, PixelDecodeError | None]]:
    """Read frames[k] into out[k] for each k, yielding (k, error or None) as each lands.

    A frame that fails is left at zero and its error is yielded; reading goes on with the next
    frame (the caller decides how a failed slice is shown).
    """
    cache = FrameCache()
    for k, frame in enumerate(frames):
        try:
            if frame.is_multiframe and _fast_path_dtype(frame) is None:
                _rescale_into(cache.frames_of(frame.path)[frame.frame_index], frame, out[k])
            else:
                read_frame_into(frame, out[k])
            yield k, None
        except (PixelDecodeError, OSError, ValueError) as exc:
            out[k] = 0
            error = exc if isinstance(exc, PixelDecodeError) else PixelDecodeError(str(exc))
            yield k, error
