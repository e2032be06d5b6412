"""Decoding one file's pixel data through pydicom's plugins — the code a decode worker runs.

No home-made codecs: pydicom's pixel data plugins (pylibjpeg-libjpeg for JPEG-LS and JPEG
lossless, pylibjpeg-openjpeg for JPEG 2000, pylibjpeg-rle/pydicom for RLE, python-gdcm) do the
work. JPEG-LS goes to CharLS (pyjpegls) first, the fastest here, called directly for single grey
frames (`charls_decode`). python-gdcm is tried first
only for lossless JPEG, where it is ~2.5× faster than pylibjpeg and the output is identical by
definition; it runs in a worker process (see
`decode_pool`), so a native crash (gdcm once segfaulted decoding JPEG 2000 in a thread) ends
only that worker, never the app.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import UID

from viewer.core.charls_decode import FrameHint, decode_at, decode_grey_frame

_LOSSLESS_JPEG = {
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless, Non-Hierarchical (Process 14)
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless, SV1
}
_JPEG_LS = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}  # lossless, near-lossless
_DEFAULT_PLUGINS = ("pylibjpeg", "pydicom", "")  # "" = any plugin pydicom has
_LOSSLESS_PLUGINS = ("gdcm", "pylibjpeg", "pydicom", "")
# CharLS (pyjpegls), the JPEG-LS reference codec: 10.5 ms CPU per LIDC slice here, against
# 16.7 ms for python-gdcm and 41 ms for pylibjpeg-libjpeg (scripted in bench/RESULTS.md).
_JPEG_LS_PLUGINS = ("pyjpegls", "pylibjpeg", "")


class PixelDecodeError(Exception):
    """A frame's pixel data could not be decoded (message in plain words)."""


def decode_file(path: Path | str, in_worker: bool = True,
                hint: FrameHint | None = None) -> np.ndarray:
    """All frames of a file as (frames, rows, columns[, samples]) stored values.

    pydicom (3.x) returns colour frames as RGB whatever their YBR encoding. Raises
    `PixelDecodeError` with a one-line reason for anything the decoders reject. Outside a
    worker process (``in_worker=False``) python-gdcm is tried last, not first. With a
    ``hint`` from the index (single grey JPEG-LS frame) CharLS decodes straight from the file.
    """
    if hint is not None:
        with contextlib.suppress(Exception):  # any doubt: read the file with pydicom below
            direct = decode_at(str(path), hint)
            if direct is not None:
                return direct[np.newaxis]
    try:
        ds = pydicom.dcmread(path, force=True)
        pixels = _pixel_array(ds, in_worker)
    except MemoryError:
        raise PixelDecodeError("pixel data could not be decoded (over the memory budget)") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise many types on corrupt data
        raise PixelDecodeError(decoder_message(exc)) from None
    if int(_number_of_frames(ds)) == 1:
        pixels = pixels[np.newaxis]
    return pixels


def _number_of_frames(ds: pydicom.Dataset) -> int:
    try:
        return int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError):
        return 1


def _pixel_array(ds: pydicom.Dataset, in_worker: bool) -> np.ndarray:
    """Decode with the preferred plugins first, then with whatever pydicom has."""
    syntax = ds.file_meta.get("TransferSyntaxUID", pydicom.uid.ImplicitVRLittleEndian)
    if not UID(syntax).is_compressed:
        return ds.pixel_array
    if str(syntax) in _JPEG_LS:
        with contextlib.suppress(Exception):  # any doubt: pydicom's plugins decide below
            direct = decode_grey_frame(ds)
            if direct is not None:
                return direct
        plugins = _JPEG_LS_PLUGINS
    elif str(syntax) in _LOSSLESS_JPEG and in_worker:
        plugins = _LOSSLESS_PLUGINS
    else:
        plugins = _DEFAULT_PLUGINS
    failure: Exception | None = None
    for plugin in plugins:
        try:
            ds.pixel_array_options(decoding_plugin=plugin)
            return ds.pixel_array
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - next plugin
            failure = exc
    raise failure  # type: ignore[misc]


def decoder_message(exc: BaseException) -> str:
    """One printable line; pydicom's "all plugins failed" summary gives way to its first cause."""
    lines = [line.strip(" :-") for line in str(exc).strip().splitlines() if line.strip(" :-")]
    if len(lines) > 1 and lines[0].startswith("Unable to decode"):
        lines = lines[1:]
    text = lines[0] if lines else exc.__class__.__name__
    text = "".join(c if c.isprintable() else "?" for c in text[:200])
    return f"pixel data could not be decoded ({text})"
