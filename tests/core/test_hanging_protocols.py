"""Hanging protocol rules: which protocol a series gets, and their JSON form in the settings."""

from __future__ import annotations

import pytest

from viewer.core.hanging_protocols import (
    DEFAULT_PROTOCOLS,
    HangingProtocol,
    body_text,
    choose,
    from_json,
    to_json,
)


@pytest.mark.parametrize(("modality", "parts", "expected"), [
    ("CT", ("CHEST", "", ""), "Chest CT"),
    ("CT", ("", "Thorax 1.0 B30f", ""), "Chest CT"),
    ("CT", ("HEAD", "", "HEAD"), "Head CT"),
    ("CT", ("ABDOMEN", "", ""), "CT"),
    ("MR", ("", "FSE PD AXIAL OBL", "BRAIN"), "MR"),
    ("DX", ("WRIST", "", ""), "Radiograph"),
    ("OT", ("", "", ""), "Radiograph"),
])
def test_default_protocols_by_modality_and_body_part(modality: str, parts: tuple[str, ...],
                                                     expected: str) -> None:
    chosen = choose(DEFAULT_PROTOCOLS, modality, body_text(*parts))
    assert chosen is not None and chosen.name == expected


def test_first_match_wins_and_nothing_matches_gives_none() -> None:
    special = HangingProtocol("Lung MIP", "CT", "lung", layout="1x1", slab_mode="mip", slab_mm=15)
    assert choose([special, *DEFAULT_PROTOCOLS], "CT", "lung screening").name == "Lung MIP"
    assert choose([*DEFAULT_PROTOCOLS, special], "CT", "lung screening").name == "Chest CT"
    assert choose([special], "MR", "lung") is None
    assert choose([special], "ct", "LUNG") is special, "case does not matter"


def test_json_round_trip_and_bad_entries() -> None:
    protocols = [*DEFAULT_PROTOCOLS, HangingProtocol("US", "US", "*", window="auto", slab_mm=3.5)]
    assert from_json(to_json(protocols)) == protocols
    text = '[{"name": "ok", "layout": "2x2"}, {"name": "bad", "layout": "3x3"}, 7, {"nam": 1}]'
    assert [p.name for p in from_json(text)] == ["ok"]
    assert from_json("not json") == list(DEFAULT_PROTOCOLS)
    assert from_json('{"a": 1}') == list(DEFAULT_PROTOCOLS)


@pytest.mark.parametrize("bad", [dict(layout="4x4"), dict(slab_mode="max"), dict(slab_mm=0),
                                 dict(volume_preset="skin")])
def test_invalid_protocols_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        HangingProtocol("x", **bad)
