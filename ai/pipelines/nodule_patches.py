"""Patches the nodule CNN scores: 1 mm isotropic cubes around candidates, cut like the training crops.

One implementation for training, validation and inference, so the three see the same pixels:

- :func:`iso_volume` resamples a CT (SimpleITK, linear) once to :data:`SPACING_MM` on its own axes;
- :func:`cube` takes a (size,)³ cube around a physical point from it (``FILL_HU`` beyond the data);
- :func:`crop_like` keeps real voxels only inside the box the LIDC training crops would have had around a
  candidate of that diameter (in-plane half-width max(15, d/2 + 8) mm, z half-height d/2 + 1.5 mm);
- :func:`window` maps HU [−1000, 400] → [0, 1].
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

SPACING_MM = 1.0
PATCH = 32
FILL_HU = -850.0
HU_LOW, HU_HIGH = -1000.0, 400.0


def window(hu: np.ndarray) -> np.ndarray:
    """HU → [0, 1] over [−1000, 400]."""
    return np.clip((np.asarray(hu, np.float32) - HU_LOW) / (HU_HIGH - HU_LOW), 0.0, 1.0)


def iso_volume(img: sitk.Image) -> tuple[np.ndarray, sitk.Image]:
    """The CT at 1 mm (array [k, j, i] float32 HU, and its SimpleITK image for index lookups)."""
    size = [max(1, round(n * s / SPACING_MM)) for n, s in zip(img.GetSize(), img.GetSpacing(), strict=True)]
    iso = sitk.Resample(img, size, sitk.Transform(), sitk.sitkLinear, img.GetOrigin(), (SPACING_MM,) * 3,
                        img.GetDirection(), FILL_HU, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(iso), iso


def index_of(iso: sitk.Image, centre_mm: np.ndarray) -> np.ndarray:
    """Continuous voxel index [k, j, i] of a physical point on the 1 mm grid."""
    ijk = iso.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in centre_mm))
    return np.asarray(ijk[::-1], float)


def cube(volume: np.ndarray, centre_kji: np.ndarray, size: int = PATCH, fill: float = FILL_HU) -> np.ndarray:
    """(size,)³ float32 cube whose centre is the voxel nearest ``centre_kji``; ``fill`` outside."""
    out = np.full((size,) * 3, fill, np.float32)
    start = np.round(np.asarray(centre_kji) - (size - 1) / 2).astype(int)
    lo, hi = np.maximum(start, 0), np.minimum(start + size, volume.shape)
    if np.any(hi <= lo):
        return out
    dst = tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start, strict=True))
    out[dst] = volume[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
    return out


def crop_like(patch: np.ndarray, diameter_mm: float) -> np.ndarray:
    """Keep real voxels only inside a training-crop-shaped box around a candidate of this diameter."""
    n = patch.shape[0]
    half_xy = max(15.0, diameter_mm / 2 + 8.0) / SPACING_MM
    half_z = (diameter_mm / 2 + 1.5) / SPACING_MM
    dist = np.abs(np.arange(n) - (n - 1) / 2)
    in_plane = dist <= half_xy
    keep = (dist <= half_z)[:, None, None] & in_plane[None, :, None] & in_plane[None, None, :]
    return np.where(keep, patch, np.float32(FILL_HU)).astype(np.float32)


def candidate_patches(volume: np.ndarray, iso: sitk.Image, centres_mm: list[np.ndarray],
                      diameters_mm: list[float]) -> np.ndarray:
    """Windowed, crop-cut patches (N, 1, P, P, P) float32 for candidates on a 1 mm volume."""
    if not centres_mm:
        return np.zeros((0, 1) + (PATCH,) * 3, np.float32)
    patches = [window(crop_like(cube(volume, index_of(iso, c)), d))
               for c, d in zip(centres_mm, diameters_mm, strict=True)]
    return np.stack(patches)[:, None].astype(np.float32)
