"""The self-test's bundled inputs and their expected results (``resources/selftest/``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viewer.core.resources import resources_dir

EXPECTATIONS = "expectations.json"
REGENERATE = "packaging/make_selftest_expectations.py"


def selftest_dir() -> Path:
    return resources_dir() / "selftest"


@dataclass
class ModelCase:
    """One shipped model on one bundled input, and what it must produce."""

    model: str
    input: str
    model_sha256: str
    modality: str | None = None
    label: str | None = None
    score: float | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    marked_inside: str | None = None

    @property
    def path(self) -> Path:
        return (selftest_dir() / self.input).resolve()


@dataclass
class Expectations:
    """Everything in ``expectations.json``."""

    tolerance: float
    cases: list[ModelCase]
    decode: dict[str, Any]


def load_expectations(path: Path | None = None) -> Expectations:
    path = path or selftest_dir() / EXPECTATIONS
    document = json.loads(path.read_text(encoding="utf-8"))
    cases = [ModelCase(**case) for case in document["cases"]]
    return Expectations(float(document["tolerance"]), cases, document["decode"])
