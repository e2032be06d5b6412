"""Training patches for the nodule candidate classifier, from the LIDC crops.

Every crop is brought to the patch grid as the pipeline defines it (``nodule_patches.crop_on_grid``).
Positives: patches centred on the nodule's mask centroid (± jitter). Negatives: patches centred on
structures (HU > −500: vessels, pleura, chest wall, airway walls) or parenchyma at least ``r + 4`` mm from
the nodule mask. The crops are tight (≈ 30 mm in-plane, often < 10 mm in z), so what a patch needs beyond
the crop is filled with lung-like −850 HU; positives get the same fill on random sides so that the fill
does not give the class away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ai.pipelines.nodule_patches import FILL_HU, PATCH, SPACING_MM, crop_like, crop_on_grid, window

NEG_MIN_GAP_MM = 4.0


@dataclass
class Crop:
    id: str
    hu: np.ndarray  # (z, y, x) int16 at 1 mm
    mask: np.ndarray  # bool, same grid
    centre: np.ndarray  # mask centroid (z, y, x) voxels
    radius: float  # equivalent-sphere radius in mm
    diameter: float  # annotated diameter, mm
    pools: tuple[np.ndarray, np.ndarray] | None = None


def load_crop(record) -> Crop:
    """A crop on the patch grid (:func:`~ai.pipelines.nodule_patches.crop_on_grid`); an empty mask becomes
    the crop's centre voxel."""
    hu, m = crop_on_grid(record.path, record.mask_path)
    if not m.any():
        m = np.zeros_like(m)
        m[tuple(s // 2 for s in m.shape)] = True
    centre = np.argwhere(m).mean(0)
    radius = float((3 * m.sum() / (4 * np.pi)) ** (1 / 3)) * SPACING_MM
    return Crop(record.id, hu, m, centre, radius, float(record.extra["diameter_mm"]))


def extract(hu: np.ndarray, centre: np.ndarray, size: int = PATCH, fill: float = FILL_HU) -> np.ndarray:
    """(size,)*3 float32 HU patch centred at ``centre`` (voxels), filled with ``fill`` outside ``hu``."""
    out = np.full((size,) * 3, fill, np.float32)
    start = np.round(centre).astype(int) - size // 2
    src_lo = np.maximum(start, 0)
    src_hi = np.minimum(start + size, hu.shape)
    if np.any(src_hi <= src_lo):
        return out
    dst_lo = src_lo - start
    dst_hi = dst_lo + (src_hi - src_lo)
    out[tuple(slice(a, b) for a, b in zip(dst_lo, dst_hi, strict=True))] = hu[
        tuple(slice(a, b) for a, b in zip(src_lo, src_hi, strict=True))
    ]
    return out


def negative_centres(crop: Crop, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Up to ``n`` voxel centres far enough from the nodule, half on structures, half anywhere."""
    out = []
    for pool in negative_pools(crop):
        if len(pool):
            out += list(pool[rng.choice(len(pool), size=min(len(pool), (n + 1) // 2), replace=False)])
    return out[:n]


def negative_pools(crop: Crop) -> tuple[np.ndarray, np.ndarray]:
    """Voxel indices ≥ r + 4 mm from the nodule: on structures (HU > −500), and anywhere (cached)."""
    if crop.pools is None:
        zz, yy, xx = np.indices(crop.hu.shape)
        dist = np.sqrt((zz - crop.centre[0]) ** 2 + (yy - crop.centre[1]) ** 2 + (xx - crop.centre[2]) ** 2)
        far = (dist * SPACING_MM >= crop.radius + NEG_MIN_GAP_MM) & ~_dilate(crop.mask, 3)
        crop.pools = (np.argwhere(far & (crop.hu > -500)), np.argwhere(far))
    return crop.pools


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    img = sitk.BinaryDilate(sitk.GetImageFromArray(mask.astype(np.uint8)), [r] * 3)
    return sitk.GetArrayFromImage(img) > 0


def random_cut(patch: np.ndarray, rng: np.random.Generator, keep_mm: float) -> np.ndarray:
    """Fill beyond a random axis-aligned plane at ≥ ``keep_mm`` from the centre (simulates a crop edge)."""
    axis, side = int(rng.integers(3)), int(rng.integers(2))
    half = patch.shape[axis] // 2
    lo = int(min(half - 1, keep_mm / SPACING_MM))
    dist = int(rng.integers(lo, half)) if lo < half else half
    index = [slice(None)] * 3
    index[axis] = slice(half + dist, None) if side else slice(0, max(half - dist, 0))
    patch = patch.copy()
    patch[tuple(index)] = FILL_HU
    return patch


def augment(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flips on every axis, in-plane transposition (with the flips: the 8 in-plane right-angle rotations
    and mirrors), HU jitter (offset ± 30 HU, gain ± 5 %, noise σ 15 HU)."""
    for axis in range(3):
        if rng.random() < 0.5:
            patch = np.flip(patch, axis)
    if rng.random() < 0.5:
        patch = np.swapaxes(patch, 1, 2)
    gain, offset = rng.uniform(0.95, 1.05), rng.uniform(-30, 30)
    patch = (patch + 1000) * gain - 1000 + offset + rng.normal(0, 15, patch.shape).astype(np.float32)
    return np.ascontiguousarray(patch, np.float32)


def cut(patch: np.ndarray, diameter_mm: float, rng: np.random.Generator) -> np.ndarray:
    """The inference cut (:func:`crop_like`) for a diameter near the candidate's, sometimes one more edge."""
    patch = crop_like(patch, diameter_mm * rng.uniform(0.8, 1.25))
    return random_cut(patch, rng, diameter_mm / 2 + 2) if rng.random() < 0.3 else patch


def crop_patches(crops: list[Crop], rng: np.random.Generator, neg_per_crop: int) -> tuple[list, list]:
    """HU patches from the LIDC crops: each nodule (± 2 mm) and ``neg_per_crop`` structures near it."""
    patches, labels = [], []
    for crop in crops:
        pos = extract(crop.hu, crop.centre + rng.uniform(-2, 2, 3) / SPACING_MM)
        patches.append(cut(pos, 2 * crop.radius, rng))
        labels.append(1)
        for c in negative_centres(crop, rng, neg_per_crop):
            patches.append(cut(extract(crop.hu, c), float(rng.uniform(3, 12)), rng))
            labels.append(0)
    return patches, labels


def sample_epoch(
    crops: list[Crop], rng: np.random.Generator, neg_per_crop: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of windowed, augmented crop patches (N, 1, P, P, P) and labels (N,)."""
    patches, labels = crop_patches(crops, rng, neg_per_crop)
    x = window(np.stack([augment(p, rng) for p in patches]))[:, None]
    return x.astype(np.float32), np.array(labels)
