"""`radsight report` and File › Report: one self-contained HTML reading report, parsed.

LIDC-0314 with ``--analyze`` (the shipped nodule-ct model, real onnxruntime): identification from
the header, the findings table (scores ≥ operating point for marked ones, model name and version),
each marked finding's image with its red box and its own heat map, a ``--key-slice`` image, the
reader's earlier verdict from a real SQLite feedback store, "not for diagnostic use", and nothing
that would load from outside the file. Without ``--analyze`` the stored findings carry their verdict.
"""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ai.findings import Finding
from ai.registry import builtin_models_dir
from viewer.cli import main
from viewer.core.feedback_db import FeedbackDB
from viewer.core.series_loader import load_series

from .test_ai_workflow import require_model

DATA_URI = "data:image/png;base64,"


class ReportParser(HTMLParser):
    """Tables (by id) as lists of rows of cell text, images (src, alt) and every URL attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self.text: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action")]
        if tag == "table":
            self._table = values.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append((values.get("src") or "", values.get("alt") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table(self, name: str) -> list[dict[str, str]]:
        head, *rows = self.tables[name]
        return [dict(zip(head, row, strict=True)) for row in rows]


def parse(path: Path) -> ReportParser:
    parser = ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def png(src: str) -> np.ndarray:
    assert src.startswith(DATA_URI), src[:40]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src[len(DATA_URI):]))).convert("RGB"))


def assert_self_contained(report: ReportParser) -> None:
    assert report.urls and all(url.startswith(DATA_URI) for url in report.urls), \
        [u[:40] for u in report.urls if not u.startswith(DATA_URI)]
    assert "NOT FOR DIAGNOSTIC USE" in " ".join(report.text)


def stored_verdict(db_path: Path, lidc_dir: Path, verdict: str, comment: str) -> Finding:
    """An earlier analysis of LIDC-0314 in a real feedback store, with the reader's verdict on it."""
    volume = load_series(lidc_dir).volume
    finding = Finding("nodule-ct", "1.0.0", "nodule", 0.9, True, threshold=0.5,
                      center_kji=(160.0, 300.0, 150.0), center_mm=(-60.0, 130.0, -520.0),
                      box_kji=(158, 290, 140, 163, 310, 160), series_instance_uid=volume.series_instance_uid)
    with FeedbackDB(db_path) as db:
        db.record_analysis(volume.study_instance_uid, volume.series_instance_uid, "nodule-ct", "1.0.0",
                           [finding.to_dict()], sop_instance_uids=volume.sop_instance_uids)
        db.set_feedback(finding.id, verdict, comment)
    return finding


def test_report_analyze_lidc_0314(lidc_dir: Path, tmp_path: Path, output_dir: Path, capsys) -> None:  # noqa: ANN001
    require_model("nodule-ct")
    db = tmp_path / "feedback.sqlite3"
    stored_verdict(db, lidc_dir, "reject", "vessel, not a nodule")
    out = output_dir / "report-lidc-0314.html"
    assert main(["report", str(lidc_dir), "--analyze", "--key-slice", "100", "--db", str(db),
                 "--out", str(out)]) == 0
    version = json.loads((builtin_models_dir() / "nodule-ct" / "model.json").read_text())["version"]
    assert f"nodule-ct {version} on" in capsys.readouterr().out
    report = parse(out)
    assert_self_contained(report)
    ident = {row["Item"]: row["Value"] for row in report.table("identification")}
    assert ident["Patient ID"] == "LIDC-IDRI-0314" and ident["Study date"] == "2000-01-01"
    assert ident["Modality"] == "CT" and ident["kVp"] and ident["Kernel"] and ident["Slice thickness (mm)"]
    findings = report.table("findings")
    assert findings and all(row["Model"] == f"nodule-ct {version}" for row in findings)
    marked = [row for row in findings if row["Marked"] == "yes"]
    assert marked and all(float(row["Score"]) >= float(row["Operating point"]) for row in marked)
    assert {row["Model"] for row in report.table("models")} == {"nodule-ct"}
    verdicts = report.table("verdicts")
    assert [(v["Verdict"], v["Comment"]) for v in verdicts] == [("reject", "vessel, not a nodule")]
    finding_images = [src for src, alt in report.images if alt.startswith("Finding ")]
    key_images = [alt for _, alt in report.images if alt.startswith("Key image")]
    assert len(finding_images) == len(marked) and key_images == ["Key image: slice 100/275"]
    first = png(finding_images[0])
    red_box = (first[..., 0] == 255) & (first[..., 1] == 40) & (first[..., 2] == 40)
    heat = (first[..., 0].astype(int) - first[..., 2]) > 60  # warm colours of the map, not grey
    assert red_box.sum() > 40 and (heat & ~red_box).sum() > 20
    assert f"slice {marked[0]['Slice']}/275" in [alt for _, alt in report.images][0]


def test_report_from_stored_findings_carries_verdicts(lidc_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "feedback.sqlite3"
    stored_verdict(db, lidc_dir, "accept", "agree, 9 mm")
    out = tmp_path / "report.html"
    assert main(["report", str(lidc_dir), "--db", str(db), "--out", str(out)]) == 0
    report = parse(out)
    assert_self_contained(report)
    (row,) = report.table("findings")
    assert (row["Slice"], row["Reader's verdict"], row["Comment"]) == ("161", "accept", "agree, 9 mm")
    assert row["Operating point"] == "0.500" and row["Model"] == "nodule-ct 1.0.0"
    finding_image = png(report.images[0][0])
    assert ((finding_image[..., 0] == 255) & (finding_image[..., 1] == 40)).sum() > 40  # its box


@pytest.mark.parametrize(("extra", "code", "says"), [
    (["--key-slice", "999"], 2, "--key-slice must be between 1 and 275"),
])
def test_report_bad_input_is_one_line(lidc_dir: Path, tmp_path: Path, capsys, extra, code, says) -> None:  # noqa: ANN001
    out = tmp_path / "r.html"
    assert main(["report", str(lidc_dir), *extra, "--out", str(out)]) == code
    printed = capsys.readouterr().out.strip()
    assert says in printed and "\n" not in printed and not out.exists()


def test_report_of_missing_path_is_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert main(["report", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.html")]) == 1
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("radsight report:") and "\n" not in printed and "Traceback" not in printed
