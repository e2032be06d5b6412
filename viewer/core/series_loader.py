"""Loading one series (one stack) into a `Volume`, progressively, reporting every problem.

Flow: index (headers only) → sort along the slice normal and analyse spacing/tilt
(`slice_geometry`) → allocate the volume → ``on_geometry(volume)`` → decode each slice straight
into it, calling ``on_slice(k, done, total)`` as it lands → resample onto a regular grid when
the acquired one is not (`regular_grid`), saying so in ``volume.warnings``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from viewer.core.dicom_frames import Frame
from viewer.core.dicom_index import DicomIndex, SeriesRecord, index_path
from viewer.core.pixel_reader import ValuesDoNotFit, output_dtype, read_stack
from viewer.core.problems import DicomLoadError, FileProblem
from viewer.core.raster_image import RasterImageError, load_raster_volume
from viewer.core.regular_grid import resample_to_regular_grid
from viewer.core.slice_geometry import StackGeometry, analyse_stack
from viewer.core.volume import Volume
from viewer.core.windowing import Window, auto_window

GeometryCallback = Callable[[Volume], None]
SliceCallback = Callable[[int, int, int], None]


class LoadCancelled(Exception):
    """The caller's cancel event was set during loading."""


@dataclass
class LoadResult:
    """A loaded volume and everything that went wrong on the way.

    ``volume`` is what callers should display and measure: on a regular grid. When the acquired
    slices were irregular or tilted, ``volume.resampled`` is True and ``acquired`` holds the
    slices as acquired (its k axis is then *not* evenly spaced: don't measure across slices).
    """

    volume: Volume
    series: SeriesRecord | None
    problems: list[FileProblem] = field(default_factory=list)
    acquired: Volume | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.volume.warnings


def load_series(
    source: str | os.PathLike[str] | SeriesRecord,
    *,
    series_key: str | None = None,
    resample: bool = True,
    on_geometry: GeometryCallback | None = None,
    on_slice: SliceCallback | None = None,
    cancel: threading.Event | None = None,
) -> LoadResult:
    """Load a series from a path (file, folder, DICOMDIR) or an indexed `SeriesRecord`.

    With a path holding several series, ``series_key`` picks one (`SeriesRecord.key` or its
    SeriesInstanceUID); without it the series with most images is loaded and a warning names
    the others. Raises `DicomLoadError` (one-line reason) when nothing loadable is found.
    """
    problems: list[FileProblem] = []
    if isinstance(source, SeriesRecord):
        series = source
    else:
        index = index_path(source)
        problems.extend(index.problems)
        series = _choose_series(index, series_key, problems)
    if series.raster_path is not None:
        return _load_raster(series, problems)
    return _SeriesReader(series, problems, on_geometry, on_slice, cancel).read(resample)


def _choose_series(index: DicomIndex, key: str | None, problems: list[FileProblem]) -> SeriesRecord:
    if key is not None:
        try:
            return index.find_series(key)
        except KeyError as exc:
            raise DicomLoadError(str(exc.args[0])) from None
    if not index.series:
        raise DicomLoadError(_nothing_found(index))
    chosen = max(index.series, key=lambda s: s.frame_count)
    others = [s for s in index.series if s is not chosen]
    if others:
        problems.append(FileProblem(
            index.root, f"{len(others) + 1} series found; loaded the largest ({chosen.key}, "
            f"{chosen.frame_count} images); pick another with its key", "warning"))
    return chosen


def _nothing_found(index: DicomIndex) -> str:
    errors = [p for p in index.problems if p.severity == "error"]
    if errors:
        return f"no loadable image in {index.root} ({len(errors)} unreadable file(s), e.g. {errors[0]})"
    if len(index.problems) == 1:  # a single file: say what it is
        return f"no image in {index.problems[0].path.name}: {index.problems[0].message}"
    return f"no DICOM or image file found in {index.root}"


def _load_raster(series: SeriesRecord, problems: list[FileProblem]) -> LoadResult:
    try:
        volume = load_raster_volume(series.raster_path)  # type: ignore[arg-type]
    except RasterImageError as exc:
        raise DicomLoadError(f"{series.raster_path}: {exc}") from None
    return LoadResult(volume, series, problems)


class _SeriesReader:
    """Reads one positioned or unpositioned stack of frames."""

    def __init__(self, series: SeriesRecord, problems: list[FileProblem],
                 on_geometry: GeometryCallback | None, on_slice: SliceCallback | None,
                 cancel: threading.Event | None) -> None:
        self.series = series
        self.problems = problems
        self.on_geometry = on_geometry
        self.on_slice = on_slice
        self.cancel = cancel
        self.warnings: list[str] = []

    def read(self, resample: bool) -> LoadResult:
        positioned = self.series.has_geometry or self.series.positioned_without_spacing
        geometry = analyse_stack(self.series.frames) if positioned else None
        frames = self.series.frames
        if geometry is not None:
            frames = [frames[i] for i in geometry.order]
            self.warnings.extend(geometry.warnings())
        if not self.series.has_geometry:
            geometry = self._without_spacing(geometry)
        volume = self._filled(frames, geometry, output_dtype(frames))
        volume = replace(volume, default_window=_default_window(frames, volume.voxels),
                         warnings=tuple(self.warnings))
        if geometry is not None and not geometry.is_regular and resample:
            return LoadResult(self._regularised(volume, geometry), self.series, self.problems, volume)
        return LoadResult(volume, self.series, self.problems)

    def _filled(self, frames: list[Frame], geometry: StackGeometry | None,
                dtype: np.dtype) -> Volume:
        """Allocate, announce (``on_geometry``) and read; into float32 if int16 cannot hold it."""
        volume = self._allocate(frames, geometry, dtype)
        if self.on_geometry:
            self.on_geometry(volume)
        marks = len(self.problems), len(self.warnings)
        try:
            self._read_pixels(frames, volume)
        except ValuesDoNotFit:
            del volume, self.problems[marks[0]:], self.warnings[marks[1]:]
            return self._filled(frames, geometry, np.dtype(np.float32))
        return volume

    def _allocate(self, frames: list[Frame], geometry: StackGeometry | None,
                  dtype: np.dtype) -> Volume:
        first = frames[0]
        voxels = np.empty((len(frames), first.rows, first.columns), dtype=dtype)
        common = dict(
            voxels=voxels, modality=first.modality,
            sop_instance_uids=tuple(f.sop_instance_uid for f in frames),
            series_instance_uid=first.series_instance_uid,
            study_instance_uid=first.study_instance_uid,
            series_description=self.series.descriptor.series_description,
            photometric_interpretation=first.photometric_interpretation,
        )
        if geometry is None:
            return Volume(**common, **self._unpositioned_geometry(first, len(frames)))
        direction = np.column_stack([geometry.row_direction, geometry.column_direction,
                                     geometry.normal])
        dj, di = geometry.pixel_spacing
        return Volume(**common, spacing=(geometry.nominal_spacing_mm, dj, di),
                      origin=tuple(geometry.positions[0]), direction=direction)

    def _without_spacing(self, geometry: StackGeometry | None) -> None:
        """Positioned frames without a valid PixelSpacing: sorted, but measured in pixels."""
        if geometry is not None:
            self.warnings.append("PixelSpacing missing, zero or invalid: slices sorted by "
                                 "position, sizes in pixels (no mm measurements)")
        return None

    def _unpositioned_geometry(self, first: Frame, n_frames: int) -> dict:
        spacing = first.pixel_spacing or first.imager_pixel_spacing
        if self.series.positioned_without_spacing:
            return {"spacing": (1.0, 1.0, 1.0), "has_geometry": False}
        if n_frames > 1:
            self.warnings.append("frames carry no patient position: shown in file order; "
                                 "distances across frames are not meaningful")
        if spacing is None:
            self.warnings.append("no pixel spacing: sizes are in pixels, not mm")
            return {"spacing": (1.0, 1.0, 1.0), "has_geometry": False}
        if first.pixel_spacing is None:
            self.warnings.append("sizes use Imager Pixel Spacing (at the detector): "
                                 "not corrected for magnification")
        return {"spacing": (1.0, spacing[0], spacing[1]), "has_geometry": True}

    def _read_pixels(self, frames: list[Frame], volume: Volume) -> None:
        total = len(frames)
        failed: dict[Path, tuple[str, list[int]]] = {}  # one problem per file, not per frame
        for done, (k, error) in enumerate(read_stack(frames, volume.voxels, self.cancel), 1):
            if self.cancel is not None and self.cancel.is_set():
                raise LoadCancelled("loading cancelled")
            if error is not None:
                failed.setdefault(frames[k].path, (str(error), []))[1].append(k)
            if self.on_slice:
                self.on_slice(k, done, total)
        if self.cancel is not None and self.cancel.is_set():  # the decoders stopped early
            raise LoadCancelled("loading cancelled")
        for path, (message, ks) in failed.items():
            self.problems.append(FileProblem(path, f"{message}; {_slices(ks, total)} left blank"))
        blank = sorted(k for _message, ks in failed.values() for k in ks)
        if blank:
            _blank(volume.voxels, blank)
            self.warnings.append(f"{len(blank)} slice(s) could not be decoded and are shown "
                                 "blank: " + ", ".join(str(k + 1) for k in blank[:10]))
        if len(blank) == total:
            raise DicomLoadError(f"none of the {total} images of the series could be decoded "
                                 f"({self.problems[-1].message})")

    def _regularised(self, acquired: Volume, geometry: StackGeometry) -> Volume:
        grid = resample_to_regular_grid(acquired.voxels, geometry)
        notes = [f"resampled onto a regular {grid.spacing[0]:.2f} mm grid "
                 f"({grid.voxels.shape[0]} slices from {acquired.shape[0]} acquired)"]
        if grid.blank_slices:
            notes.append(f"{len(grid.blank_slices)} resampled slice(s) fall in gaps and are blank")
        direction = np.column_stack([geometry.row_direction, geometry.column_direction,
                                     geometry.normal])
        return replace(acquired, voxels=grid.voxels, spacing=grid.spacing,
                       origin=tuple(grid.origin), direction=direction, resampled=True,
                       sop_instance_uids=(), warnings=acquired.warnings + tuple(notes))


def _slices(ks: list[int], total: int) -> str:
    ks = sorted(ks)
    if len(ks) == 1:
        return f"slice {ks[0] + 1} of {total}"
    return f"{len(ks)} slices ({ks[0] + 1}–{ks[-1] + 1}) of {total}"


def _blank(voxels: np.ndarray, failed: list[int]) -> None:
    good = np.setdiff1d(np.arange(voxels.shape[0]), failed)
    voxels[failed] = voxels[good].min() if len(good) else 0


def _default_window(frames: list[Frame], voxels: np.ndarray) -> Window:
    first = frames[0]
    if first.window_center is not None and first.window_width and first.window_width > 0:
        return Window(first.window_center, first.window_width, "from DICOM")
    return auto_window(voxels)


def series_files(result: LoadResult) -> list[Path]:
    return result.series.files if result.series else []
