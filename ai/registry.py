"""Where models live, which ones can be trusted, and which ones apply to an image.

Two folders are searched, each holding ``<name>/{model.onnx, model.json}`` packages:

* the built-in models, ``resources/models/`` next to the code (inside a PyInstaller bundle:
  ``sys._MEIPASS/resources/models``), see :func:`builtin_models_dir`;
* the user's models, ``$RADSIGHT_MODELS_DIR`` when set, else ``<platformdirs user data>/models``,
  see :func:`user_models_dir`. A user model with the name of a built-in one shadows it.

:meth:`ModelRegistry.load` verifies the ONNX file's SHA-256 against ``model.json`` every time:
a modified file raises :class:`ChecksumMismatch`. :func:`check_scope` says in plain words why a
model does not apply to an image (``None`` when it does).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ai.package import META_FILE, ModelPackage, PackageError, load_package, sha256_of

ENV_MODELS_DIR = "RADSIGHT_MODELS_DIR"
APP_NAME = "RadSight"


class ModelError(Exception):
    """Base class of the registry's refusals."""


class ModelNotFound(ModelError):
    """No package of that name in any models folder."""


class ChecksumMismatch(ModelError):
    """The ONNX file is not the one ``model.json`` describes (tampered with or corrupted)."""


class OutOfScope(ModelError):
    """The model was asked to run on an image outside its declared scope."""


def builtin_models_dir() -> Path:
    """``resources/models`` of the source tree, or of the PyInstaller bundle when frozen."""
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        return Path(sys._MEIPASS) / "resources" / "models"
    return Path(__file__).resolve().parents[1] / "resources" / "models"


def user_models_dir() -> Path:
    """``$RADSIGHT_MODELS_DIR``, else the platform's per-user data folder + ``models``."""
    override = os.environ.get(ENV_MODELS_DIR)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "models"


@dataclass(frozen=True)
class ModelEntry:
    """A package found on disk (read, validated, not yet checksum-verified)."""

    package: ModelPackage
    source: str  # "builtin" or "user"

    @property
    def name(self) -> str:
        return self.package.name


@dataclass(frozen=True)
class ImageFacts:
    """What scope gating needs to know about an image.

    ``spacing`` is ``(dk, dj, di)`` in mm, or ``None`` when the image has no physical geometry.
    """

    modality: str
    is_2d: bool
    spacing: tuple[float, float, float] | None
    body_part: str | None = None


#: DICOM "OT" (other) — and every PNG/JPEG — says nothing about what the image shows.
UNKNOWN_MODALITY = "OT"


def _modality_reason(package: ModelPackage, modality: str) -> str | None:
    allowed = package.scope.modalities
    if modality.upper() == UNKNOWN_MODALITY:
        return (f"model '{package.name}' needs to know what the image shows; this plain image does "
                "not say (declare it a radiograph or an MR slice first)")
    if modality.upper() in allowed:
        return None
    return f"model '{package.name}' is for {'/'.join(allowed)} images; this one is {modality or 'unknown'}"


def _dimension_reason(package: ModelPackage, is_2d: bool) -> str | None:
    wants_2d = package.scope.dimensionality == "2d"
    if wants_2d == is_2d:
        return None
    if wants_2d:
        return f"model '{package.name}' reads single 2D images (radiographs); this is a 3D volume"
    return f"model '{package.name}' reads 3D volumes; this is a single 2D image"


def _outside(value: float, rng: tuple[float, float] | None) -> bool:
    return rng is not None and not (rng[0] <= value <= rng[1])


def _spacing_reason(package: ModelPackage, spacing: tuple[float, float, float] | None,
                    is_2d: bool) -> str | None:
    scope = package.scope
    needs = scope.requires_geometry or scope.pixel_spacing_mm or (scope.slice_spacing_mm and not is_2d)
    if spacing is None:
        return (f"model '{package.name}' needs the pixel spacing in mm; this image has none"
                if needs else None)
    dk, dj, di = spacing
    for value in (dj, di):
        if _outside(value, scope.pixel_spacing_mm):
            lo, hi = scope.pixel_spacing_mm  # type: ignore[misc]
            return (f"model '{package.name}' accepts pixels of {lo:g}-{hi:g} mm; "
                    f"this image has {dj:.3g} x {di:.3g} mm")
    if not is_2d and _outside(dk, scope.slice_spacing_mm):
        lo, hi = scope.slice_spacing_mm  # type: ignore[misc]
        return f"model '{package.name}' accepts slices {lo:g}-{hi:g} mm apart; this volume has {dk:.3g} mm"
    return None


def _body_part_reason(package: ModelPackage, body_part: str | None) -> str | None:
    allowed = package.scope.body_parts
    if not allowed or not body_part or body_part.upper() in allowed:
        return None
    return f"model '{package.name}' is for {'/'.join(allowed).lower()}; this image is of {body_part.lower()}"


def check_scope(
    package: ModelPackage,
    modality: str,
    is_2d: bool,
    spacing: tuple[float, float, float] | None,
    body_part: str | None = None,
) -> str | None:
    """Why ``package`` does not apply to this image, in plain words; ``None`` when it does.

    ``spacing`` is ``(dk, dj, di)`` mm or ``None`` without geometry. An unknown body part
    (``None``/empty, as BodyPartExamined often is) is not a reason to refuse; a different one is.
    """
    return (
        _modality_reason(package, modality)
        or _dimension_reason(package, is_2d)
        or _spacing_reason(package, spacing, is_2d)
        or _body_part_reason(package, body_part)
    )


def require_scope(package: ModelPackage, facts: ImageFacts) -> None:
    """Raise :class:`OutOfScope` with the reason when ``package`` does not apply to ``facts``."""
    reason = check_scope(package, facts.modality, facts.is_2d, facts.spacing, facts.body_part)
    if reason:
        raise OutOfScope(reason)


def verify_checksum(package: ModelPackage) -> None:
    """Raise :class:`ChecksumMismatch` unless ``model.onnx`` hashes to ``package.sha256``."""
    actual = sha256_of(package.onnx_path)
    if actual != package.sha256:
        raise ChecksumMismatch(
            f"model '{package.name}' {package.version} refused: {package.onnx_path} does not match the "
            f"SHA-256 in its model.json (expected {package.sha256[:12]}..., found {actual[:12]}...); "
            "the file was modified or is corrupt - reinstall the model"
        )


class ModelRegistry:
    """The packages in the built-in and user models folders (later folders shadow earlier)."""

    def __init__(self, folders: Sequence[tuple[str, Path]] | None = None) -> None:
        if folders is None:
            folders = (("builtin", builtin_models_dir()), ("user", user_models_dir()))
        self.folders = tuple((source, Path(path)) for source, path in folders)
        self.problems: list[str] = []

    def entries(self) -> list[ModelEntry]:
        """Every valid package, sorted by name; invalid ones are listed in ``self.problems``."""
        found: dict[str, ModelEntry] = {}
        self.problems = []
        for source, folder in self.folders:
            for meta in sorted(folder.glob(f"*/{META_FILE}")) if folder.is_dir() else []:
                try:
                    package = load_package(meta.parent)
                except PackageError as exc:
                    self.problems.append(str(exc))
                    continue
                found[package.name] = ModelEntry(package, source)
        return [found[name] for name in sorted(found)]

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries()]

    def find(self, name: str) -> ModelEntry:
        """The entry called ``name`` (raises :class:`ModelNotFound` listing what there is)."""
        for entry in self.entries():
            if entry.name == name:
                return entry
        known = ", ".join(self.names()) or "none"
        folders = ", ".join(str(path) for _, path in self.folders)
        raise ModelNotFound(f"no model named '{name}' (installed: {known}; searched {folders})")

    def load(self, name: str) -> ModelPackage:
        """The package called ``name``, its ONNX file verified against its SHA-256."""
        package = self.find(name).package
        verify_checksum(package)
        return package

    def applicable(self, facts: ImageFacts) -> tuple[list[ModelPackage], dict[str, str]]:
        """Packages whose scope admits ``facts``, and for the others the reason, by name."""
        return split_by_scope([entry.package for entry in self.entries()], facts)


def split_by_scope(packages: Sequence[ModelPackage],
                   facts: ImageFacts) -> tuple[list[ModelPackage], dict[str, str]]:
    """``packages`` whose scope admits ``facts``, and for the others the reason, by name."""
    accepted: list[ModelPackage] = []
    refused: dict[str, str] = {}
    for package in packages:
        reason = check_scope(package, facts.modality, facts.is_2d, facts.spacing, facts.body_part)
        if reason:
            refused[package.name] = reason
        else:
            accepted.append(package)
    return accepted, refused
