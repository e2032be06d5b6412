"""`radsight view`: argument handling and the bundled sample study it opens by default."""

from __future__ import annotations

from viewer.cli import build_parser
from viewer.commands import view


def test_view_parses_optional_path(tmp_path) -> None:
    parser = build_parser()
    args = parser.parse_args(["view"])
    assert args.func is view.run and args.path is None
    assert parser.parse_args(["view", str(tmp_path)]).path == tmp_path


def test_view_refuses_a_missing_path(tmp_path, capsys) -> None:
    args = build_parser().parse_args(["view", str(tmp_path / "nope")])
    assert view.run(args) == 2
    assert "does not exist" in capsys.readouterr().out


def test_default_study_is_the_bundled_sample() -> None:
    sample = view.sample_study()
    assert sample.name == "sample" and sample.parent.name == "resources"
