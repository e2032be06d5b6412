"""Hanging protocols: how a series is first shown — layout, window preset, slab, 3D preset — chosen
by its modality and body part (Qt-free; the viewer stores them in its settings as JSON).

A protocol matches a series when its ``modality`` names the series' modality (``"CT"``,
``"CR|DX"``, ``"*"`` for any) and one of its ``body_part`` terms (``"chest|lung|thorax"``,
``"*"`` for any) occurs, case-insensitively, in the series' body text: BodyPartExamined, series
and study description together. The first matching protocol in the list wins, so specific rules
go before general ones.

API
---
``HangingProtocol`` — one rule and what it sets; ``matches(modality, body_text)``.
``DEFAULT_PROTOCOLS`` — chest CT, head CT, any CT, MR, radiographs.
``choose(protocols, modality, body_text) -> HangingProtocol | None``.
``body_text(*parts) -> str`` — the text the body-part terms are looked for in.
``to_json(protocols) -> str`` / ``from_json(text) -> list[HangingProtocol]`` (bad entries are
skipped, bad text gives the defaults).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields

LAYOUTS = ("1x1", "1x2", "2x2")
SLAB_MODES = ("", "mip", "minip", "mean")  # "" = single slice
VOLUME_PRESETS = ("", "bone", "lung", "soft tissue")  # "" = leave the 3D view's preset


@dataclass(frozen=True)
class HangingProtocol:
    """A rule (``modality``, ``body_part``) and the display it sets. ``window`` is a preset name
    of the viewer ("lung", "brain", …) or "" for the image's own window."""

    name: str
    modality: str = "*"
    body_part: str = "*"
    layout: str = "1x1"
    window: str = ""
    slab_mode: str = ""
    slab_mm: float = 10.0
    volume_preset: str = ""

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout {self.layout!r} is not one of {LAYOUTS}")
        if self.slab_mode not in SLAB_MODES:
            raise ValueError(f"slab mode {self.slab_mode!r} is not one of {SLAB_MODES}")
        if self.volume_preset not in VOLUME_PRESETS:
            raise ValueError(f"3D preset {self.volume_preset!r} is not one of {VOLUME_PRESETS}")
        if not 0.1 <= float(self.slab_mm) <= 100:
            raise ValueError(f"slab thickness {self.slab_mm} mm is outside 0.1–100 mm")

    def matches(self, modality: str, body_text: str) -> bool:
        return _any_term(self.modality, modality.upper(), whole=True) and _any_term(
            self.body_part, body_text.lower(), whole=False)


def _terms(pattern: str) -> list[str]:
    return [t.strip() for t in pattern.split("|") if t.strip()]


def _any_term(pattern: str, value: str, whole: bool) -> bool:
    terms = _terms(pattern)
    if not terms or "*" in terms:
        return True
    if whole:
        return value in {t.upper() for t in terms}
    return any(t.lower() in value for t in terms)


DEFAULT_PROTOCOLS: tuple[HangingProtocol, ...] = (
    HangingProtocol("Chest CT", "CT", "chest|lung|thorax|thx", layout="2x2", window="lung",
                    volume_preset="lung"),
    HangingProtocol("Head CT", "CT", "head|brain|skull", layout="1x2", window="brain", volume_preset="bone"),
    HangingProtocol("CT", "CT", "*", layout="1x2", window="", volume_preset="soft tissue"),
    HangingProtocol("MR", "MR", "*", layout="1x2"),
    HangingProtocol("Radiograph", "CR|DX|DR|RF|MG|OT", "*", layout="1x1"),
)


def body_text(*parts: str | None) -> str:
    """BodyPartExamined, series and study description (any given) as one lower-case text."""
    return " ".join(p for p in parts if p).lower()


def choose(protocols: Iterable[HangingProtocol], modality: str, text: str) -> HangingProtocol | None:
    """The first protocol that matches, or None."""
    return next((p for p in protocols if p.matches(modality, text)), None)


def to_json(protocols: Sequence[HangingProtocol]) -> str:
    return json.dumps([asdict(p) for p in protocols], indent=1)


_FIELDS = {f.name for f in fields(HangingProtocol)}


def from_json(text: str) -> list[HangingProtocol]:
    """Protocols from ``to_json`` text; entries that are not valid are skipped; text that is not a
    JSON list gives the defaults."""
    try:
        items = json.loads(text)
    except (TypeError, ValueError):
        return list(DEFAULT_PROTOCOLS)
    if not isinstance(items, list):
        return list(DEFAULT_PROTOCOLS)
    out = []
    for item in items:
        try:
            out.append(HangingProtocol(**{k: v for k, v in item.items() if k in _FIELDS}))
        except (TypeError, ValueError, AttributeError):
            continue
    return out
