"""One wording of the operating-point decision, long (``radsight analyze``) and short (findings table)."""

from __future__ import annotations

import pytest

from ai.findings import Finding
from viewer.analysis.operating_point import operating_point_words

CASES = {  # finding → (long form, short form), as analyze printed and the panel showed before
    "marked without threshold": (Finding("m", "1", "x", 0.9, True), "marked, no threshold",
                                 "marked (no threshold)"),
    "not marked without threshold": (Finding("m", "1", "x", 0.9, False), "not marked", "not marked"),
    "below": (Finding("m", "1", "x", 0.3, False, threshold=0.6765), "below the threshold 0.676, not marked",
              "< 0.676"),
    "hidden by a rule": (Finding("m", "1", "x", 0.9, True, threshold=0.6765, hidden_by="per_scan_cap"),
                         "at or above the threshold 0.676, not marked: rule per_scan_cap",
                         "≥ 0.676, not marked: per scan cap"),
    "marked": (Finding("m", "1", "x", 0.9, True, threshold=0.6765), "marked: at or above the threshold 0.676",
               "marked: ≥ 0.676"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_long_and_short_words(case: str) -> None:
    finding, long_form, short_form = CASES[case]
    assert operating_point_words(finding) == long_form
    assert operating_point_words(finding, short=True) == short_form
