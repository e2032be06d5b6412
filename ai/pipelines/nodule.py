"""Chest-CT nodule pipeline: lung mask (SimpleITK) → blob candidates inside it → 3D CNN scores each
candidate's 1 mm patch → findings (centre in voxels and mm, diameter, score) + a 3D explanation map.

Model contract (``resources/models/nodule-ct``): input ``image`` (N, 1, 32, 32, 32) float32 — a 1 mm
isotropic patch (z, y, x) centred on a candidate, HU windowed to [−1000, 400] → [0, 1]; outputs
``logits`` (N, 2) (background, nodule) and ``cam`` (N, 2, 8, 8, 8) (the last conv map weighted by the
linear head, 4 mm cells). numpy + SimpleITK + onnxruntime only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from ai.findings import Finding, located
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.scores import softmax

NAME = "nodule-ct"
SPACING_MM = 1.0  # patch grid
PATCH = 32  # voxels per side of a patch
FILL_HU = -850.0  # lung-like value for patch parts outside the data
HU_LOW, HU_HIGH = -1000.0, 400.0
COARSE_MM = 2.0  # grid of the lung mask and the candidate search
MAX_CANDIDATES = 160
DIAMETER_RANGE_MM = (3.0, 35.0)
MAX_MARKS = 5  # at most this many findings per scan pass the operating point (highest scores first)


def window(hu: np.ndarray) -> np.ndarray:
    """HU → [0, 1] over [−1000, 400]."""
    return np.clip((np.asarray(hu, np.float32) - HU_LOW) / (HU_HIGH - HU_LOW), 0.0, 1.0)


@dataclass(frozen=True)
class Candidate:
    centre_mm: np.ndarray  # physical (x, y, z) as SimpleITK gives it
    diameter_mm: float
    voxels: int


@dataclass
class NoduleFinding:
    """``passes``: score ≥ the threshold and among the ``MAX_MARKS`` highest scores of the scan."""

    score: float
    centre_kji: tuple[float, float, float]  # voxel index on the input grid (slice, row, column)
    centre_mm: tuple[float, float, float]  # physical point (x, y, z) of the input geometry
    diameter_mm: float
    passes: bool = False


@dataclass
class NoduleResult:
    findings: list[NoduleFinding]
    n_candidates: int
    cam: np.ndarray | None = None  # on the input grid (k, j, i), float32 in [0, 1]
    timings_s: dict[str, float] = field(default_factory=dict)


def to_sitk(
    volume: np.ndarray, spacing: tuple[float, float, float], origin=None, direction=None
) -> sitk.Image:
    """Array [k, j, i] + spacing (dk, dj, di) (+ LPS origin/direction) → SimpleITK image (HU, float32)."""
    img = sitk.GetImageFromArray(np.asarray(volume, np.float32))
    img.SetSpacing(tuple(float(s) for s in reversed(spacing)))
    if origin is not None:
        img.SetOrigin(tuple(float(v) for v in origin))
    if direction is not None:
        img.SetDirection(tuple(float(v) for v in np.asarray(direction, float).reshape(9)))
    return img


def resample(img: sitk.Image, spacing: float, default: float = -1000.0) -> sitk.Image:
    size = [max(1, round(n * s / spacing)) for n, s in zip(img.GetSize(), img.GetSpacing(), strict=True)]
    return sitk.Resample(img, size, sitk.Transform(), sitk.sitkLinear, img.GetOrigin(), (spacing,) * 3,
                         img.GetDirection(), default, sitk.sitkFloat32)


def lung_mask(coarse: sitk.Image) -> sitk.Image:
    """Lungs on the coarse grid: air below −400 HU not connected to the in-plane border (lungs may reach
    the first and last slices), components ≥ 10 % of the largest, closed (6 mm) and hole-filled."""
    air = sitk.GetArrayFromImage(sitk.ConnectedComponent(coarse < -400))
    faces = np.concatenate([air[:, [0, -1]].ravel(), air[:, :, [0, -1]].ravel()])  # in-plane edges only
    counts = np.bincount(air.ravel())
    counts[0] = 0
    counts[np.unique(faces)] = 0
    if counts.max() == 0:
        return sitk.Cast(coarse * 0, sitk.sitkUInt8)
    keep = np.nonzero(counts >= 0.1 * counts.max())[0]
    closed = box_erode(box_dilate(np.isin(air, keep), 3), 3)
    lungs = sitk.GetImageFromArray(closed.astype(np.uint8))
    lungs.CopyInformation(coarse)
    return sitk.BinaryFillhole(lungs)


def _box_pass(mask: np.ndarray, radius: int, op) -> np.ndarray:
    """Separable (2r+1)³ box dilation (op=np.logical_or) or erosion (np.logical_and); edges replicated."""
    out = mask
    for axis in range(3):
        for _ in range(radius):
            padded = np.pad(out, [(1, 1) if a == axis else (0, 0) for a in range(3)], mode="edge")
            lo = np.take(padded, range(0, out.shape[axis]), axis=axis)
            hi = np.take(padded, range(2, out.shape[axis] + 2), axis=axis)
            out = op(op(lo, hi), out)
    return out


def box_dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    return _box_pass(mask.astype(bool), radius, np.logical_or)


def box_erode(mask: np.ndarray, radius: int) -> np.ndarray:
    return _box_pass(mask.astype(bool), radius, np.logical_and)


def candidates(coarse: sitk.Image, lungs: sitk.Image) -> list[Candidate]:
    """Compact dense components inside the lungs, with and without an opening that cuts vessels off."""
    dense_array = (sitk.GetArrayFromImage(coarse) > -500) & (sitk.GetArrayFromImage(lungs) > 0)
    opened_array = box_dilate(box_erode(dense_array, 1), 1)
    found = []
    for array in (dense_array, opened_array):
        binary = sitk.GetImageFromArray(array.astype(np.uint8))
        binary.CopyInformation(coarse)
        found += _components(binary)
    found.sort(key=lambda c: -c.voxels)
    kept: list[Candidate] = []
    for cand in found:
        if len(kept) == MAX_CANDIDATES:
            break
        if all(np.linalg.norm(cand.centre_mm - k.centre_mm) > max(5.0, k.diameter_mm / 2) for k in kept):
            kept.append(cand)
    return kept[:MAX_CANDIDATES]


def _components(binary: sitk.Image) -> list[Candidate]:
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.ComputeFeretDiameterOff()
    stats.ComputePerimeterOff()
    stats.Execute(sitk.ConnectedComponent(binary))
    lo, hi = DIAMETER_RANGE_MM
    out = []
    for label in stats.GetLabels():
        diameter = stats.GetEquivalentSphericalRadius(label) * 2
        if lo <= diameter <= hi and stats.GetElongation(label) < 4.0:
            centre = np.array(stats.GetCentroid(label))
            out.append(Candidate(centre, diameter, stats.GetNumberOfPixels(label)))
    return out


def patch_at(img: sitk.Image, centre_mm: np.ndarray) -> np.ndarray:
    """A (PATCH,)*3 HU patch (z, y, x) at 1 mm around a physical point, axes along the image's."""
    direction = np.array(img.GetDirection()).reshape(3, 3)
    half = (PATCH / 2 - 0.5) * SPACING_MM
    origin = centre_mm - direction @ np.full(3, half)
    out = sitk.Resample(img, [PATCH] * 3, sitk.Transform(), sitk.sitkLinear, tuple(origin),
                        (SPACING_MM,) * 3, img.GetDirection(), FILL_HU, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(out)


def crop_like(patch: np.ndarray, diameter_mm: float) -> np.ndarray:
    """Keep real voxels only inside a box shaped like the training crops around a candidate of this
    diameter (in-plane half-width max(15, d/2 + 8) mm, z half-height d/2 + 1.5 mm); fill the rest.

    The LIDC crops the CNN learnt from are tight around each nodule (≈ 30 mm in-plane, the nodule's own
    z extent), so it has only seen structures within such a box; whole-scan patches are cut the same way.
    """
    half_xy = max(15.0, diameter_mm / 2 + 8.0) / SPACING_MM
    half_z = (diameter_mm / 2 + 1.5) / SPACING_MM
    centre = (PATCH - 1) / 2
    idx = np.arange(PATCH)
    keep_z = np.abs(idx - centre) <= half_z
    keep_xy = np.abs(idx - centre) <= half_xy
    keep = keep_z[:, None, None] & keep_xy[None, :, None] & keep_xy[None, None, :]
    return np.where(keep, patch, np.float32(FILL_HU)).astype(np.float32)


def score(session, patches: np.ndarray, batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Nodule probability and nodule-class CAM (N, 8, 8, 8) for windowed patches (N, P, P, P)."""
    probs, cams = [], []
    for i in range(0, len(patches), batch):
        logits, cam = session.run(["logits", "cam"], {"image": patches[i : i + batch, None]})
        probs.append(softmax(logits)[:, 1])
        cams.append(cam[:, 1])
    if not probs:
        return np.zeros(0), np.zeros((0, 8, 8, 8))
    return np.concatenate(probs), np.concatenate(cams)


def find_candidates(img: sitk.Image) -> tuple[list[Candidate], np.ndarray, dict[str, float]]:
    """Lung mask → candidates → windowed 1 mm patches (N, 1, P, P, P) float32, with step timings."""
    clock = _Clock()
    coarse = resample(img, COARSE_MM)
    lungs = lung_mask(coarse)
    clock.tick("lung_mask")
    cands = candidates(coarse, lungs)
    patches = [window(crop_like(patch_at(img, c.centre_mm), c.diameter_mm)) for c in cands]
    stacked = np.stack(patches) if patches else np.zeros((0,) + (PATCH,) * 3, np.float32)
    clock.tick("candidates")
    return cands, stacked[:, None].astype(np.float32), clock.times


def run(session, volume: np.ndarray, spacing: tuple[float, float, float], origin=None, direction=None,
        threshold: float = 0.5, with_cam: bool = True,
        progress: Callable[[float], None] | None = None) -> NoduleResult:
    """Whole-scan detection on a CT (HU array [k, j, i], spacing (dk, dj, di) mm) with an ORT session."""
    img = to_sitk(volume, spacing, origin, direction)
    cands, patches, times = find_candidates(img)
    clock = _Clock()
    probs, cams = score(session, patches[:, 0])
    clock.tick("cnn")
    findings = _findings(img, cands, probs, threshold)
    cam = _cam_volume(img, cands, cams, probs) if with_cam else None
    clock.tick("cam")
    if progress:
        progress(1.0)
    return NoduleResult(findings, len(cands), cam, {**times, **clock.times})


def _findings(
    img: sitk.Image, cands: list[Candidate], probs: np.ndarray, threshold: float
) -> list[NoduleFinding]:
    out = []
    ranked = sorted(zip(cands, probs, strict=True), key=lambda t: -t[1])
    for rank, (cand, p) in enumerate(ranked):
        ijk = img.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in cand.centre_mm))
        out.append(NoduleFinding(float(p), (ijk[2], ijk[1], ijk[0]), tuple(float(v) for v in cand.centre_mm),
                                 float(cand.diameter_mm), bool(p >= threshold and rank < MAX_MARKS)))
    return out


def _cam_volume(img: sitk.Image, cands: list[Candidate], cams: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Each candidate's nodule CAM (scaled by its probability), pasted at 4 mm and resampled to the input."""
    cell = PATCH * SPACING_MM / cams.shape[-1] if len(cams) else 4.0
    grid = resample(img, cell, default=0.0)
    acc = np.zeros(sitk.GetArrayFromImage(grid).shape, np.float32)
    for cand, cam, p in zip(cands, cams, probs, strict=True):
        _paste(acc, grid, cand.centre_mm, np.clip(cam / max(float(cam.max()), 1e-6), 0, 1) * float(p))
    return nearest_upsample(acc, cell, tuple(reversed(img.GetSize())), tuple(reversed(img.GetSpacing())))


def nearest_upsample(coarse: np.ndarray, cell: float, shape: tuple, spacing: tuple) -> np.ndarray:
    """A map on a grid of ``cell`` mm sharing the input's origin and axes → the input grid (nearest)."""
    index = [np.minimum((np.arange(n) * s / cell + 0.5).astype(int), m - 1)
             for n, s, m in zip(shape, spacing, coarse.shape, strict=True)]
    return coarse[np.ix_(*index)]


def _paste(acc: np.ndarray, grid: sitk.Image, centre_mm: np.ndarray, cam: np.ndarray) -> None:
    ijk = np.array(grid.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in centre_mm)))
    n = cam.shape[-1]
    start = np.round(ijk[::-1] - n / 2 + 0.5).astype(int)
    lo, hi = np.maximum(start, 0), np.minimum(start + n, acc.shape)
    if np.any(hi <= lo):
        return
    src = tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start, strict=True))
    dst = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    acc[dst] = np.maximum(acc[dst], cam[src])


class _Clock:
    def __init__(self) -> None:
        import time

        self._time = time.perf_counter
        self._last = self._time()
        self.times: dict[str, float] = {}

    def tick(self, name: str) -> None:
        now = self._time()
        self.times[name] = round(now - self._last, 3)
        self._last = now


class NodulePipeline:
    """The engine's ``Pipeline`` protocol: ``prepare`` finds candidates and cuts their patches,
    ``interpret`` turns the CNN's outputs into findings and one explanation map on the CT grid."""

    def prepare(self, image, package) -> Prepared:
        img = to_sitk(image.voxels, image.spacing, image.index_to_patient((0, 0, 0)),
                      _direction_xyz(image.direction))
        cands, patches, times = find_candidates(img)
        empty = len(cands) == 0
        inputs = np.zeros((1, 1) + (PATCH,) * 3, np.float32) if empty else patches
        return Prepared(inputs, {"img": img, "candidates": cands, "empty": empty, "timings_s": times})

    def interpret(self, image, package, prepared: Prepared, outputs: ModelOutputs) -> PipelineResult:
        ctx = prepared.context
        cands: list[Candidate] = ctx["candidates"]
        if ctx["empty"]:
            return PipelineResult([], notes=["no nodule candidates inside the lung mask"])
        probs = softmax(outputs.outputs["logits"])[:, 1]
        point = package.operating_point("nodule")
        threshold = 0.5 if point is None else point.threshold
        cam = _cam_volume(ctx["img"], cands, outputs.outputs["cam"][:, 1], probs)
        findings = [_engine_finding(package, image, f, threshold)
                    for f in _findings(ctx["img"], cands, probs, threshold)]
        notes = [f"{len(cands)} candidates scored; steps {ctx['timings_s']}"]
        return PipelineResult(findings, maps={"nodule": cam}, notes=notes)


def _direction_xyz(direction: np.ndarray) -> np.ndarray:
    """ImageInput's direction (columns = LPS unit vectors of i, j, k) → SimpleITK's row-major matrix."""
    return np.asarray(direction, float).reshape(3, 3)


def _engine_finding(package, image, f: NoduleFinding, threshold: float) -> Finding:
    spacing = np.asarray(image.spacing, float)
    half = f.diameter_mm / 2 / spacing
    centre = np.asarray(f.centre_kji, float)
    box = (*(centre - half + 0.5), *(centre + half + 0.5))
    finding = Finding(package.name, package.version, "nodule", f.score, f.passes, threshold=threshold,
                      explanation="nodule", explanation_method="cam_output")
    return located(finding, image, box)


PIPELINE = NodulePipeline()
