"""The `radsight` command line as a user meets it: help for every subcommand, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from viewer.cli import build_parser

SUBCOMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Not for diagnostic use" in out
    for name in ("info", "load", "view", "snapshot", "analyze", "validate", "selftest"):
        assert name in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([name, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: radsight " + name)


def test_info_and_load_on_missing_path_fail_with_one_line() -> None:
    for command in ("info", "load"):
        done = subprocess.run([sys.executable, "-m", "viewer", command, "/no/such/folder"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        lines = (done.stdout + done.stderr).strip().splitlines()
        assert lines == [f"radsight {command}: /no/such/folder does not exist"]


def test_load_describes_lidc(lidc_dir) -> None:
    done = subprocess.run([sys.executable, "-m", "viewer", "load", str(lidc_dir)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "shape:       275 x 512 x 512" in done.stdout
    assert "spacing:     1 x 0.7812 x 0.7812 mm" in done.stdout
    assert "orientation: axial, LPS" in done.stdout
    assert "values:      -1000 .. 1979 (int16)" in done.stdout


def test_load_reports_tilt_for_ge_head(dicom_data) -> None:
    done = subprocess.run([sys.executable, "-m", "viewer", "load",
                           str(dicom_data / "ge-head-ct-gantry-tilt" / "series")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "gantry tilt of 18.5°" in done.stdout and "resampled onto a regular grid" in done.stdout


def test_info_lists_two_stacks_of_enhanced_mr(dicom_data) -> None:
    done = subprocess.run([sys.executable, "-m", "viewer", "info",
                           str(dicom_data / "philips-enhanced-mr" / "series")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "[stack 1/2]" in done.stdout and "[stack 2/2]" in done.stdout


def test_info_hides_patient_identity_unless_asked(dicom_data) -> None:
    folder = str(dicom_data / "pylibjpeg-corpus" / "JPEG2000Lossless")  # PatientName CompressedSamples^RG3
    plain = subprocess.run([sys.executable, "-m", "viewer", "info", folder],
                           capture_output=True, text=True, timeout=120)
    shown = subprocess.run([sys.executable, "-m", "viewer", "info", folder, "--show-patient"],
                           capture_output=True, text=True, timeout=120)
    assert "CompressedSamples" not in plain.stdout
    assert "CompressedSamples^RG3" in shown.stdout
