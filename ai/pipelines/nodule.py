"""Chest-CT nodule pipeline: lung mask (SimpleITK) → blob candidates inside it → 3D CNN scores each
candidate's patch → findings (centre in voxels and mm, diameter, score), each with its own explanation.

The patch contract comes from ``model.json`` (``resources/models/nodule-ct``) through
:class:`PatchSpec`: ``input.size`` voxels per side at ``input.spacing_mm``, HU ``input.window`` →
[0, 1], ``input.fill_value`` HU outside the data; outputs ``logits`` (N, 2) in the order of ``labels``
and ``cam`` (N, 2, c, c, c) (the last conv map weighted by the linear head). Marking: a finding passes
when its score ≥ the operating point's threshold; ``model.json``'s ``mark_rules`` ``per_scan_cap``
keeps all but the highest-scoring ``limit`` of those unmarked, and such a finding says so
(``hidden_by``). Each finding's explanation is its own candidate's CAM, centred on it at the CAM's
resolution (:class:`ai.region_map.RegionMap`). numpy + SimpleITK + onnxruntime only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ai.findings import Finding, located
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.pipelines import ModelOutputs, PipelineMissing, PipelineResult, Prepared
from ai.region_map import RegionMap
from ai.resample import normalise01
from ai.scores import softmax

COARSE_MM = 2.0  # grid of the lung mask and the candidate search
MAX_CANDIDATES = 160
DIAMETER_RANGE_MM = (3.0, 35.0)
CAP_RULE = "per_scan_cap"


@dataclass(frozen=True)
class PatchSpec:
    """The CNN's patch: ``patch`` voxels per side at ``spacing_mm``, HU window, fill outside the data."""

    patch: int
    spacing_mm: float
    hu_low: float
    hu_high: float
    fill_hu: float

    @classmethod
    def of(cls, package: ModelPackage) -> PatchSpec:
        """The patch contract of ``model.json``'s ``input``."""
        spec = package.input
        if spec.size is None or spec.spacing_mm is None or spec.window is None:
            raise PipelineMissing(f"model '{package.name}': the nodule pipeline needs input.size, "
                                  "input.spacing_mm and input.window in model.json")
        lo = spec.window.center - spec.window.width / 2
        return cls(int(spec.size[0]), float(spec.spacing_mm[0]), lo, lo + spec.window.width, spec.fill_value)


def window(hu: np.ndarray, spec: PatchSpec) -> np.ndarray:
    """HU → [0, 1] over the model's window."""
    return np.clip((np.asarray(hu, np.float32) - spec.hu_low) / (spec.hu_high - spec.hu_low), 0.0, 1.0)


@dataclass(frozen=True)
class Candidate:
    centre_mm: np.ndarray  # physical (x, y, z) as SimpleITK gives it
    diameter_mm: float
    voxels: int


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


def patch_origin(img: sitk.Image, centre_mm: np.ndarray, spec: PatchSpec) -> np.ndarray:
    """Physical point of the centre of patch voxel [0, 0, 0] for a patch centred on ``centre_mm``."""
    direction = np.array(img.GetDirection()).reshape(3, 3)
    return centre_mm - direction @ np.full(3, (spec.patch / 2 - 0.5) * spec.spacing_mm)


def patch_at(img: sitk.Image, centre_mm: np.ndarray, spec: PatchSpec) -> np.ndarray:
    """A patch (z, y, x) of HU around a physical point, axes along the image's."""
    out = sitk.Resample(img, [spec.patch] * 3, sitk.Transform(), sitk.sitkLinear,
                        tuple(patch_origin(img, centre_mm, spec)), (spec.spacing_mm,) * 3, img.GetDirection(),
                        spec.fill_hu, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(out)


def crop_half_sizes(diameter_mm: float, spec: PatchSpec) -> tuple[float, float]:
    """Half-height (z) and in-plane half-width, in patch voxels, of the box :func:`crop_like` keeps."""
    return (diameter_mm / 2 + 1.5) / spec.spacing_mm, max(15.0, diameter_mm / 2 + 8.0) / spec.spacing_mm


def crop_like(patch: np.ndarray, diameter_mm: float, spec: PatchSpec) -> np.ndarray:
    """Keep real voxels only inside a box shaped like the training crops around a candidate of this
    diameter (in-plane half-width max(15, d/2 + 8) mm, z half-height d/2 + 1.5 mm); fill the rest.

    The LIDC crops the CNN learnt from are tight around each nodule (≈ 30 mm in-plane, the nodule's own
    z extent), so it has only seen structures within such a box; whole-scan patches are cut the same way.
    """
    half_z, half_xy = crop_half_sizes(diameter_mm, spec)
    centre = (spec.patch - 1) / 2
    idx = np.arange(spec.patch)
    keep_z = np.abs(idx - centre) <= half_z
    keep_xy = np.abs(idx - centre) <= half_xy
    keep = keep_z[:, None, None] & keep_xy[None, :, None] & keep_xy[None, None, :]
    return np.where(keep, patch, np.float32(spec.fill_hu)).astype(np.float32)


def score(session, patches: np.ndarray, batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Nodule probability and nodule-class CAM (N, 8, 8, 8) for windowed patches (N, P, P, P)."""
    probs, cams = [], []
    for i in range(0, len(patches), batch):
        logits, cam = session.run(["logits", "cam"], {"image": patches[i : i + batch, None]})
        probs.append(softmax(logits)[:, 1])
        cams.append(cam[:, 1])
    if not probs:
        return np.zeros(0), np.zeros((0, 1, 1, 1))
    return np.concatenate(probs), np.concatenate(cams)


def find_candidates(img: sitk.Image, spec: PatchSpec) -> tuple[list[Candidate], np.ndarray, dict[str, float]]:
    """Lung mask → candidates → windowed patches (N, 1, P, P, P) float32, with step timings."""
    clock = _Clock()
    coarse = resample(img, COARSE_MM)
    lungs = lung_mask(coarse)
    clock.tick("lung_mask")
    cands = candidates(coarse, lungs)
    patches = [window(crop_like(patch_at(img, c.centre_mm, spec), c.diameter_mm, spec), spec) for c in cands]
    stacked = np.stack(patches) if patches else np.zeros((0,) + (spec.patch,) * 3, np.float32)
    clock.tick("candidates")
    return cands, stacked[:, None].astype(np.float32), clock.times


def candidate_map(img: sitk.Image, cand: Candidate, cam: np.ndarray, spec: PatchSpec) -> RegionMap:
    """One candidate's CAM (c³ cells over its patch) on the image grid: nearest cell per image voxel
    inside the part of the patch the CNN saw (:func:`crop_like`'s box; the map at its own resolution,
    centred on the candidate), zero elsewhere."""
    centre_mm = cand.centre_mm
    origin = np.array(img.TransformPhysicalPointToContinuousIndex(
        tuple(float(v) for v in patch_origin(img, centre_mm, spec))))[::-1]  # (k, j, i)
    step = spec.spacing_mm / np.array(img.GetSpacing())[::-1]  # image voxels per patch voxel
    cell = spec.patch / cam.shape[0]  # patch voxels per CAM cell
    start = np.floor(origin - 0.5 * step).astype(int)
    stop = np.ceil(origin + (spec.patch - 0.5) * step).astype(int)
    index = [np.floor(((np.arange(a, b) - o) / s + 0.5) / cell).astype(int)
             for a, b, o, s in zip(start, stop, origin, step, strict=True)]
    halves = crop_half_sizes(cand.diameter_mm, spec)
    middle = (spec.patch - 1) / 2
    inside = [(ix >= 0) & (ix < n) & (np.abs((np.arange(a, b) - o) / s - middle) <= half)
              for ix, n, a, b, o, s, half in zip(index, cam.shape, start, stop, origin, step,
                                                 (halves[0], halves[1], halves[1]), strict=True)]
    cells = cam[np.ix_(*[np.clip(ix, 0, n - 1) for ix, n in zip(index, cam.shape, strict=True)])]
    seen = inside[0][:, None, None] & inside[1][None, :, None] & inside[2][None, None, :]
    values = np.zeros(cells.shape, np.float32)
    if seen.any():  # min-max over the cells the CNN saw, as the 2D pipelines normalise their CAMs
        values[seen] = normalise01(cells[seen])
    shape = tuple(reversed(img.GetSize()))
    cells_mm = (cell * spec.spacing_mm,) * 3
    return RegionMap(values.astype(np.float32), tuple(int(v) for v in start), shape, cells_mm)


class _Clock:
    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.times: dict[str, float] = {}

    def tick(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = round(now - self._last, 3)
        self._last = now


class NodulePipeline:
    """The engine's ``Pipeline`` protocol: ``prepare`` finds candidates and cuts their patches,
    ``interpret`` turns the CNN's outputs into ranked findings, each with its own explanation map."""

    def prepare(self, image: ImageInput, package: ModelPackage) -> Prepared:
        spec = PatchSpec.of(package)
        img = to_sitk(image.voxels, image.spacing, image.index_to_patient((0, 0, 0)),
                      np.asarray(image.direction, float))
        cands, patches, times = find_candidates(img, spec)
        empty = len(cands) == 0
        inputs = np.zeros((1, 1) + (spec.patch,) * 3, np.float32) if empty else patches
        return Prepared(inputs, {"img": img, "spec": spec, "candidates": cands, "empty": empty,
                                 "timings_s": times})

    def interpret(self, image: ImageInput, package: ModelPackage, prepared: Prepared,
                  outputs: ModelOutputs) -> PipelineResult:
        ctx = prepared.context
        cands: list[Candidate] = ctx["candidates"]
        if ctx["empty"]:
            return PipelineResult([], notes=["no nodule candidates inside the lung mask"])
        positive = package.labels[-1]
        probs = softmax(outputs.outputs["logits"])[:, -1]
        cams = outputs.outputs["cam"][:, -1]
        point = package.operating_point(positive)
        threshold = 0.5 if point is None else point.threshold
        cap = package.mark_rule(CAP_RULE)
        result = PipelineResult([], notes=[f"{len(cands)} candidates scored; steps {ctx['timings_s']}"])
        order = np.argsort(-probs, kind="stable")
        for rank, index in enumerate(order):
            key = f"{positive}-{rank + 1:03d}"
            result.maps[key] = candidate_map(ctx["img"], cands[index], cams[index], ctx["spec"])
            hidden = cap is not None and probs[index] >= threshold and rank >= cap.limit
            result.findings.append(_finding(package, image, ctx["img"], cands[index], float(probs[index]),
                                            threshold, key, CAP_RULE if hidden else None))
        if cap is not None:
            result.notes.append(f"marking rule {CAP_RULE}: {cap.description}")
        return result


def _finding(package: ModelPackage, image: ImageInput, img: sitk.Image, cand: Candidate, score: float,
             threshold: float, key: str, hidden_by: str | None) -> Finding:
    ijk = img.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in cand.centre_mm))
    centre = np.array([ijk[2], ijk[1], ijk[0]])
    half = cand.diameter_mm / 2 / np.asarray(image.spacing, float)
    box = (*(centre - half + 0.5), *(centre + half + 0.5))
    finding = Finding(package.name, package.version, package.labels[-1], score, score >= threshold,
                      threshold=threshold, explanation=key, explanation_method="cam_output",
                      hidden_by=hidden_by)
    return located(finding, image, box)


PIPELINE = NodulePipeline()
