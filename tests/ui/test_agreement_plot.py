"""Agreement monitor on a real feedback database: curve values, bins, legend, pixels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from ai.findings import Finding
from viewer.core.feedback_db import FeedbackDB
from viewer.ui.agreement_plot import AgreementPlot

from .viewer_helpers import save, settled_grab, to_array


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 9, tzinfo=UTC)


def ts(day: int) -> float:
    return datetime(2026, 11, day, tzinfo=UTC).timestamp()


def give(db: FeedbackDB, model: str, verdicts: list[tuple[int, bool, str]]) -> None:
    """Findings of ``model`` (passing or not), each answered on a given day."""
    items = [Finding(model, "1", "x", 0.9 if passes else 0.1, passes, center_kji=(0.0, 1.0, 2.0))
             for _, passes, _ in verdicts]
    db.record_analysis("1.2", f"1.2.{model}", model, "1", [f.to_dict() for f in items], analysed_at=at(1))
    for finding, (day, _, verdict) in zip(items, verdicts, strict=True):
        db.set_feedback(finding.id, verdict, at=at(day))


@pytest.fixture
def db(tmp_path: Path):  # noqa: ANN201
    database = FeedbackDB(tmp_path / "feedback.sqlite3")
    # nodule-ct: day 2: 3 agree of 4; day 3: 1 of 2; day 10: 2 of 2 (+1 unsure)
    give(database, "nodule-ct", [(2, True, "accept"), (2, True, "accept"), (2, False, "reject"),
                                 (2, True, "reject"), (3, True, "accept"), (3, False, "accept"),
                                 (10, True, "accept"), (10, True, "accept"), (10, True, "unsure")])
    # fracture: day 4: 0 of 1; day 11: 1 of 1
    give(database, "fracture-radiograph", [(4, True, "reject"), (11, False, "reject")])
    yield database
    database.close()


def test_curves_per_day_and_week(qtbot, db: FeedbackDB, output_dir: Path) -> None:  # noqa: ANN001
    plot = AgreementPlot(db, bin="day")
    qtbot.addWidget(plot)
    plot.resize(640, 360)
    plot.show()
    qtbot.waitExposed(plot)
    x, y = plot.curves["nodule-ct"].getData()
    assert list(x) == [ts(2), ts(3), ts(10)] and np.allclose(y, [0.75, 0.5, 1.0])
    assert list(plot.decided["nodule-ct"]) == [4, 2, 2]
    x, y = plot.curves["fracture-radiograph"].getData()
    assert list(x) == [ts(4), ts(11)] and list(y) == [0.0, 1.0]
    names = sorted(item.text for _, item in plot.legend.items)
    assert names == ["fracture-radiograph: 50% of 2", "nodule-ct: 75% of 8"]
    assert plot.summary.text() == "11 verdict(s) on 2 model(s)"
    image = settled_grab(qtbot, plot)
    save(image, output_dir, "agreement_plot_day.png")
    pixels = to_array(image).astype(int)
    colourful = (pixels.max(axis=2) - pixels.min(axis=2)) > 120
    assert colourful.sum() > 200  # two coloured curves with markers are drawn
    plot.bin_box.setCurrentText("Per week")  # 2026-11-02 and 2026-11-09 are Mondays
    x, y = plot.curves["nodule-ct"].getData()
    assert list(x) == [ts(2), ts(9)] and np.allclose(y, [4 / 6, 1.0])
    assert datetime.fromtimestamp(x[0], UTC).date() == date(2026, 11, 2) and date(2026, 11, 2).weekday() == 0


def test_empty_database(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    with FeedbackDB(tmp_path / "f.sqlite3") as empty:
        plot = AgreementPlot(empty)
        qtbot.addWidget(plot)
        assert plot.curves == {} and plot.summary.text() == "No feedback yet"
