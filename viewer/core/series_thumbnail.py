"""A small greyscale picture of a series: its middle image, windowed, shrunk (Qt-free).

Reads one frame only: native frames straight from the file (`pixel_reader.read_frame_into`),
compressed ones through pydicom's plugins in this process (`frame_decoder.decode_file`), PNG/JPEG
through Pillow. The window is the file's own (Window Center/Width) or the 1–99 percentiles;
MONOCHROME1 is inverted. Results are cached by file, frame and modification time.

``middle_frame(series) -> Frame | None``; ``thumbnail(series, size=64) -> np.ndarray`` (uint8,
(h, w), the longer side ``size`` unless the image is smaller); ``file_thumbnail(path, size)`` the same
for one file (a study database's representative instance); ``ThumbnailError`` when the frame cannot be
read.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from viewer.core.dicom_frames import Frame
from viewer.core.dicom_index import SeriesRecord, series_of_file
from viewer.core.frame_decoder import PixelDecodeError, decode_file
from viewer.core.pixel_reader import read_frame_into
from viewer.core.raster_image import RasterImageError, read_raster_image
from viewer.core.windowing import Window, apply_window, auto_window

CACHE_SIZE = 256
_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()


class ThumbnailError(Exception):
    """The series' middle image could not be read."""


def middle_frame(series: SeriesRecord) -> Frame | None:
    """The frame in the middle of the stack (by position along the slice normal when known)."""
    if not series.frames:
        return None

    first = series.frames[0]
    normal = np.array([0.0, 0.0, 1.0])
    if first.orientation:
        normal = np.cross(first.orientation[:3], first.orientation[3:])

    def order(frame: Frame) -> tuple[float, int]:
        return float(np.dot(frame.position or (0.0, 0.0, 0.0), normal)), frame.instance_number or 0

    frames = sorted(series.frames, key=order)
    return frames[len(frames) // 2]


def _frame_values(frame: Frame) -> np.ndarray:
    out = np.empty((frame.rows, frame.columns), np.float32)
    try:
        read_frame_into(frame, out)
        return out
    except PixelDecodeError:
        pass
    stored = decode_file(frame.path, in_worker=False)
    if stored.ndim == 3 + (frame.samples_per_pixel > 1):  # (frames, rows, columns[, samples])
        stored = stored[frame.frame_index]
    if stored.ndim == 3:  # colour (rows, columns, samples) → luminance
        stored = stored.mean(axis=-1)
    return stored.astype(np.float32) * frame.rescale_slope + frame.rescale_intercept


def _shrink(values: np.ndarray, size: int) -> np.ndarray:
    """Area-averaged down (never up) to ``size`` on the longer side, aspect kept (Pillow BOX)."""
    h, w = values.shape
    scale = min(1.0, size / max(h, w))
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = Image.fromarray(values.astype(np.float32))  # mode "F"
    return np.asarray(image.resize(target, Image.Resampling.BOX))


def _window(frame: Frame | None, values: np.ndarray) -> Window:
    if frame is not None and (frame.window_width or 0) > 0 and frame.window_center is not None:
        return Window(frame.window_center, frame.window_width)
    return auto_window(values, 1.0, 99.0)


def _key(series: SeriesRecord, frame: Frame | None, size: int) -> tuple:
    path = series.raster_path if frame is None else frame.path
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ThumbnailError(f"cannot read {path.name}: {exc.strerror}") from exc
    return (str(path), 0 if frame is None else frame.frame_index, mtime, size)


def thumbnail(series: SeriesRecord, size: int = 64) -> np.ndarray:
    """uint8 greyscale (h, w) of the series' middle image, longer side ``size`` (cached)."""
    frame = middle_frame(series)
    if frame is None and series.raster_path is None:
        raise ThumbnailError("the series has no image")
    key = _key(series, frame, size)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    try:
        values = read_raster_image(series.raster_path) if frame is None else _frame_values(frame)
    except (PixelDecodeError, RasterImageError, OSError, ValueError) as exc:
        raise ThumbnailError(f"cannot read the middle image: {exc}") from exc
    small = _shrink(values.astype(np.float32), size)
    inverted = frame is not None and frame.photometric_interpretation == "MONOCHROME1"
    picture = apply_window(small, _window(frame, small), invert=inverted)
    _CACHE[key] = picture
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return picture


def file_thumbnail(path: Path, size: int = 64) -> np.ndarray:
    """The :func:`thumbnail` of the one file ``path`` (its middle frame where it holds several)."""
    series = series_of_file(path)
    if series is None:
        raise ThumbnailError(f"{Path(path).name} holds no image the viewer reads")
    return thumbnail(series, size)
