"""Body and lung regions for 3D rendering: the table goes, the patient and the lungs stay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from viewer.core.body_regions import AIR_HU, BodyRegions, region_voxels, regions_of, volume_bounds_mm
from viewer.core.volume import Volume


def chest_phantom() -> Volume:
    """An elliptic 'chest' (40 HU) with two air 'lungs' holding a 'vessel', over a separate
    table (a 6 mm bone-dense slab 8 mm under the back) — 40 slices of 1 mm, 128² at 2 mm."""
    k, j, i = np.meshgrid(np.arange(40), np.arange(128), np.arange(128), indexing="ij")
    voxels = np.full((40, 128, 128), -1000, np.int16)
    chest = ((i - 64) / 50.0) ** 2 + ((j - 60) / 32.0) ** 2 < 1
    voxels[chest] = 40
    for centre in (40, 88):
        voxels[((i - centre) / 16.0) ** 2 + ((j - 60) / 20.0) ** 2 < 1] = -850
    voxels[(abs(i - 40) < 2) & (abs(j - 60) < 2)] = 30  # a vessel inside the right lung
    voxels[(j >= 96) & (j < 99)] = 600  # the table, across the whole width
    return Volume(voxels, (1.0, 2.0, 2.0), modality="CT")


def test_phantom_table_removed_body_and_lungs_kept() -> None:
    volume = chest_phantom()
    regions = BodyRegions.of(volume)
    voxels = region_voxels(volume, "body")
    assert (voxels[:, 96:99] == AIR_HU).all(), "the table is air in the body region"
    tissue = volume.voxels > -300
    assert (voxels[tissue & (np.arange(128)[None, :, None] < 93)] > -300).all(), "every body voxel kept"
    assert regions.body[:, 60, 40].all(), "the lungs are inside the body (filled slice by slice)"
    lungs = region_voxels(volume, "lungs")
    assert (lungs[:, 58:63, 38:43] == volume.voxels[:, 58:63, 38:43]).all(), "the vessel stays in the lungs"
    assert (lungs[:, 60, 64] == AIR_HU).all(), "the mediastinum is not lung"
    assert (lungs[:, 60, 10] == AIR_HU).all(), "the chest wall is not lung"
    x0, x1, y0, y1, z0, z1 = regions.bounds_mm(volume)
    assert y1 < 96 * 2.0 and y1 > 88 * 2.0, "the body's box ends at the back, before the table"
    assert volume_bounds_mm(volume)[3] == pytest.approx(127 * 2.0)


def test_other_modalities_are_left_as_they_are() -> None:
    volume = Volume(chest_phantom().voxels, (1.0, 2.0, 2.0), modality="MR")
    assert regions_of(volume) is None
    assert region_voxels(volume, "body") is volume.voxels
    with pytest.raises(ValueError):
        region_voxels(volume, "liver")


@pytest.fixture(scope="module")
def lidc(lidc_dir: Path) -> Volume:
    from viewer.core.series_loader import load_series

    return load_series(lidc_dir).volume


def test_lidc_0314_table_removed(lidc: Volume) -> None:
    regions = regions_of(lidc)
    assert regions is regions_of(lidc), "computed once per volume"
    tissue = lidc.voxels > -300
    back = int(np.nonzero(regions.body.any(axis=(0, 2)))[0][-1])  # last body row (posterior)
    below = tissue[:, back + 1:].sum()
    assert below > 100_000, "LIDC-0314 has its table under the patient"
    kept = regions.body_only(lidc.voxels)
    assert (kept[:, back + 1:] == AIR_HU).all(), "nothing of the table is left"
    inside = tissue & regions.body
    assert inside.sum() / tissue[:, :back + 1].sum() > 0.97, "the patient's tissue is kept"
    k = lidc.shape[0] // 2
    assert regions.body[k, 256, 256], "the mediastinum is inside the body"
    lung_hu = lidc.voxels[regions.lungs]
    assert np.median(lung_hu) < -700, "the lung region is mostly lung parenchyma"
    assert 0.04 < regions.lungs.mean() < 0.1, f"lung fraction {regions.lungs.mean():.3f}"
