"""Agreement monitor: per model, how often the radiologist agreed with it, per day or week.

The local check that a model still behaves on this clinic's data. Points are the agreement rate
(agree / (agree + disagree), see :mod:`viewer.core.feedback_db`) of each bin, plotted at the
bin's first day; bins with only "unsure" verdicts are left out. The legend gives each model's
overall rate and the number of decided verdicts.

    plot = AgreementPlot(db)        # a QWidget: bin chooser + pyqtgraph plot
    plot.refresh()                  # after new feedback (e.g. on FindingsPanel.feedback_given)
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from viewer.core.feedback_db import AgreementBin, Bin, FeedbackDB

BINS: dict[str, Bin] = {"Per week": "week", "Per day": "day"}


def bin_timestamp(bin_: AgreementBin) -> float:
    """POSIX time of the bin's first day at 00:00 UTC (the x of its point)."""
    return datetime.combine(bin_.start, time(0), tzinfo=UTC).timestamp()


def agreement_series(bins: list[AgreementBin]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """model → (x timestamps, rates, decided verdicts per bin), bins without a rate left out."""
    out: dict[str, list[tuple[float, float, int]]] = {}
    for b in bins:
        if b.rate is not None:
            out.setdefault(b.model, []).append((bin_timestamp(b), b.rate, b.agree + b.disagree))
    return {m: tuple(np.array(col) for col in zip(*points, strict=True))  # type: ignore[misc]
            for m, points in out.items()}


def overall_rate(bins: list[AgreementBin], model: str) -> tuple[float | None, int]:
    agree = sum(b.agree for b in bins if b.model == model)
    decided = agree + sum(b.disagree for b in bins if b.model == model)
    return (agree / decided if decided else None), decided


class AgreementPlot(QWidget):
    """Bin chooser + a pyqtgraph plot of agreement rate over time, one curve per model."""

    def __init__(self, db: FeedbackDB | None = None, bin: Bin = "week",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.bin: Bin = bin
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.decided: dict[str, np.ndarray] = {}  # decided verdicts behind each point
        self.bins: list[AgreementBin] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        self.bin_box = QComboBox(self)
        self.bin_box.addItems(list(BINS))
        self.bin_box.setCurrentText(next(k for k, v in BINS.items() if v == bin))
        self.bin_box.currentTextChanged.connect(lambda text: self.set_bin(BINS[text]))
        self.summary = QLabel("", self)
        row.addWidget(self.bin_box)
        row.addWidget(self.summary, 1)
        layout.addLayout(row)
        self.plot = pg.PlotWidget(self, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.plot.setBackground("k")
        self.plot.setLabel("left", "agreement with radiologist")
        self.plot.setYRange(-0.05, 1.05, padding=0)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.legend = self.plot.addLegend(offset=(10, 10))
        layout.addWidget(self.plot, 1)
        self.refresh()

    def set_db(self, db: FeedbackDB | None) -> None:
        self.db = db
        self.refresh()

    def set_bin(self, bin: Bin) -> None:
        self.bin = bin
        self.refresh()

    def _fit_x(self, series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        """At least two weeks around the points (one point alone would span a fraction of a second)."""
        xs = np.concatenate([x for x, _, _ in series.values()]) if series else np.array([])
        if xs.size:
            middle, half = (xs.min() + xs.max()) / 2, max((xs.max() - xs.min()) / 2, 7 * 86400.0)
            self.plot.setXRange(middle - half, middle + half, padding=0.05)
        else:
            self.plot.enableAutoRange(axis="x")

    def refresh(self) -> None:
        """Re-read the verdicts from the database and redraw."""
        self.plot.clear()
        self.legend.clear()
        self.curves, self.decided = {}, {}
        self.bins = self.db.agreement(self.bin) if self.db is not None else []
        series = agreement_series(self.bins)
        for index, (model, (x, rate, decided)) in enumerate(sorted(series.items())):
            colour = pg.intColor(index, hues=max(len(series), 3))
            overall, n = overall_rate(self.bins, model)
            name = f"{model}: {overall:.0%} of {n}" if overall is not None else model
            self.curves[model] = self.plot.plot(x, rate, pen=pg.mkPen(colour, width=2), symbol="o",
                                                symbolSize=9, symbolBrush=colour, name=name)
            self.decided[model] = decided
        self.plot.setYRange(-0.05, 1.05, padding=0)
        self._fit_x(series)
        n_verdicts = sum(b.agree + b.disagree + b.unsure for b in self.bins)
        self.summary.setText(f"{n_verdicts} verdict(s) on {len(series)} model(s)" if self.bins
                             else "No feedback yet")
