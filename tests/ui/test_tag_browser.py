"""DICOM tag browser: rows, sequences, filtering, and no identifying values in the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from viewer.ui.tag_browser import TagBrowser, tag_rows


def test_rows_include_meta_values_sequences_and_bulk_data() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    rows = {row.tag: row for row in tag_rows(ds)}
    assert rows["(0002,0010)"].name == "Transfer Syntax UID"  # file meta first
    assert rows["(0010,0010)"].value == str(ds.PatientName) and rows["(0010,0010)"].vr == "PN"
    assert rows["(0028,0030)"].value == "\\".join(str(v) for v in ds.PixelSpacing)
    assert rows["(7FE0,0010)"].value == f"<{len(ds.PixelData)} bytes>"
    plan = pydicom.dcmread(get_testdata_file("rtplan.dcm"))
    beams = next(r for r in tag_rows(plan) if r.name == "Beam Sequence")
    assert beams.vr == "SQ" and beams.value == f"{len(plan.BeamSequence)} item(s)"
    assert beams.children[0].name == "Item 1"
    assert any(c.name == "Beam Name" for c in beams.children[0].children)


@pytest.fixture
def browser(qtbot) -> TagBrowser:  # noqa: ANN001
    widget = TagBrowser()
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_filter_by_name_value_and_nested_items(browser: TagBrowser, qtbot, caplog,  # noqa: ANN001
                                               capsys, output_dir: Path) -> None:
    caplog.set_level(logging.DEBUG)
    plan = pydicom.dcmread(get_testdata_file("rtplan.dcm"))
    browser.set_dataset(plan)
    everything = browser.visible_rows()
    assert len(everything) > 50
    qtbot.keyClicks(browser.filter_edit, "beam name")  # typed by the user
    rows = browser.visible_rows()
    names = [r[1] for r in rows]
    assert "Beam Sequence" in names and "Item 1" in names  # ancestors stay visible
    assert all(n in ("Beam Sequence", "Beam Name") or n.startswith("Item") for n in names)
    assert names.count("Beam Name") == len(plan.BeamSequence)
    browser.grab().save(str(output_dir / "tag-browser-filtered.png"))
    browser.set_filter(str(plan.PatientID))
    assert [r[1] for r in browser.visible_rows()] == ["Patient ID"]
    browser.set_filter("")
    assert len(browser.visible_rows()) == len(everything)
    identifying = {str(plan.PatientName), str(plan.PatientID)}
    logged = caplog.text + capsys.readouterr().out
    assert not any(value in logged for value in identifying if value)


def test_current_slice_header_from_file(browser: TagBrowser, lidc_dir: Path) -> None:
    path = sorted(lidc_dir.glob("*.dcm"))[0]
    browser.set_file(path)
    rows = {r[0]: r for r in browser.visible_rows()}
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert rows["(0020,0032)"][3] == "\\".join(str(v) for v in ds.ImagePositionPatient)
    assert rows["(0008,0060)"][3] == "CT"
    assert "(7FE0,0010)" not in rows  # header only
