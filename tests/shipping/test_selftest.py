"""`radsight selftest` on the source tree: passes here, and fails (exit 1, one FAIL line) when a
model's result, a decoded pixel or a shipped model's expectation is not what it must be."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from ai.runtime import cuda_unavailable_reason
from viewer.cli import main
from viewer.selftest.decode_checks import decode_checks
from viewer.selftest.expectations import Expectations, load_expectations
from viewer.selftest.model_checks import model_checks
from viewer.version import VERSION

REPO = Path(__file__).resolve().parents[2]


def test_selftest_passes_and_reports_the_provider(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    report = tmp_path / "selftest.txt"
    assert main(["selftest", "--report", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert text == capsys.readouterr().out
    assert "FAIL" not in text and ", 0 failed" in text
    assert "nodule marked inside the readers' contours" in text
    for model in ("nodule-ct", "fracture-radiograph", "tumour-mri"):
        assert f"ok    model {model}" in text
    for syntax in ("RLE Lossless", "JPEG-LS", "JPEG 2000", "Big Endian", "Deflated", "Implicit VR",
                   "JPEG Lossless"):
        assert syntax in text, syntax
    assert "VTK renders off-screen" in text and "frame shows the pattern" in text
    assert "execution provider used: CPUExecutionProvider" in text
    reason = cuda_unavailable_reason()
    if reason:
        assert f"CUDA not used: {reason}" in text
    assert len(text.splitlines()) < 60  # one page


def test_a_wrong_expected_score_fails_with_the_numbers() -> None:
    expected = load_expectations()
    case = next(c for c in expected.cases if c.model == "fracture-radiograph")
    # every probability off by 0.5 (1 − v is no change where the recorded probabilities are near 0.5)
    off = {k: (v + 0.5) % 1.0 for k, v in case.probabilities.items()}
    wrong = dataclasses.replace(case, probabilities=off)
    checks = model_checks(Expectations(expected.tolerance, [wrong], expected.decode), set())
    failed = [c for c in checks if c.name.startswith("model fracture-radiograph on") and not c.passed]
    assert failed and "expected" in failed[0].detail and "probability" in failed[0].detail


def test_a_shipped_model_without_an_expectation_fails() -> None:
    checks = model_checks(Expectations(0.02, [], {}), set())
    names = {c.name for c in checks if not c.passed}
    assert {"model nodule-ct", "model fracture-radiograph", "model tumour-mri"} <= names


def test_decoding_is_checked_against_the_reference_pixels() -> None:
    expected = load_expectations().decode
    assert all(c.passed for c in decode_checks(expected))
    wrong = dict(expected, voxels_sha256="0" * 64)
    checks = decode_checks(wrong)
    assert len(checks) == 8 and not any(c.passed for c in checks)
    assert "differ from the reference" in checks[0].detail


def test_cuda_switched_off_is_said_in_plain_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADSIGHT_NO_CUDA", "1")
    assert cuda_unavailable_reason() == "CUDA switched off ($RADSIGHT_NO_CUDA is set)"


def test_version_is_pyproject_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert VERSION == project["version"]


def test_every_supported_transfer_syntax_is_bundled() -> None:
    import pydicom
    from pydicom import uid

    from viewer.selftest.expectations import selftest_dir

    files = sorted((selftest_dir() / "transfer-syntaxes").glob("*.dcm"))
    syntaxes = {pydicom.dcmread(f, stop_before_pixels=True).file_meta.TransferSyntaxUID for f in files}
    assert syntaxes == {uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.ExplicitVRBigEndian,
                        uid.DeflatedExplicitVRLittleEndian, uid.RLELossless, uid.JPEGLosslessSV1,
                        uid.JPEGLSLossless, uid.JPEG2000Lossless}
