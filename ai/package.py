"""The model package contract: ``resources/models/<name>/{model.onnx, model.json, MODEL_CARD.md}``.

``model.json`` describes, in the spirit of a MONAI bundle's metadata, everything the engine needs
to decide whether a model applies to an image and how to feed it, plus what was measured about it.
This module holds the typed form of that file (:class:`ModelPackage` and its parts), reads and
validates it (:func:`load_package`, :func:`validate_package`), saves it (:func:`save_package`) and
writes a whole package folder (:func:`write_package`).

Writing a package from training code (the one call training scripts need)::

    from ai.package import (ModelPackage, Scope, InputSpec, OutputSpec, OperatingPoint,
                            Metric, TrainingData, write_package)

    package = ModelPackage(
        name="fracture-radiograph", version="1.0.0", task="classification", target="fracture",
        scope=Scope(modalities=("CR", "DX"), body_parts=(), dimensionality="2d"),
        input=InputSpec(axes="NCHW", channels=3, size=(224, 224), normalization="imagenet"),
        outputs=(OutputSpec("logits", "class scores before softmax, (N, 2)"),
                 OutputSpec("cam", "class activation maps, (N, 2, 7, 7)")),
        labels=("no fracture", "fracture"),
        operating_points=(OperatingPoint(label="fracture", threshold=0.42,
                                         sensitivity=0.81, specificity=0.77),),
        explanation="cam_output",
        training_data=TrainingData(name="FracAtlas", licence="CC BY 4.0", source="doi:...",
                                   split="random 70/15/15 by image; no patient IDs"),
        metrics={"auc": Metric(0.86, (0.82, 0.90))},
    )
    write_package("resources/models/fracture-radiograph", "exported.onnx", package,
                  model_card="# Fracture model\\n...")

``pipeline`` (optional) names the pre/post-processing in ``ai/pipelines/`` when it is not the one
of the target (``"classification"`` is a generic one driven by ``input`` alone).

``write_package`` copies (or moves) the ONNX file to ``<dir>/model.onnx``, fills in its SHA-256,
validates the whole description and writes ``model.json`` (and ``MODEL_CARD.md`` when given).
Every number in ``operating_points`` and ``metrics`` must have been measured; the package
refuses values outside [0, 1] for rates and refuses a missing "not for diagnostic use" statement.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
DISCLAIMER = "not for diagnostic use"
MODEL_FILE = "model.onnx"
META_FILE = "model.json"
CARD_FILE = "MODEL_CARD.md"

TASKS = ("classification", "detection", "segmentation")
TARGETS = ("nodule", "tumour", "fracture")
DIMENSIONALITIES = ("2d", "3d")
EXPLANATIONS = ("cam_output", "occlusion", "none")
NORMALIZATIONS = ("none", "minmax", "zscore", "imagenet", "mean_std", "unit_range")
RESIZES = ("stretch", "letterbox")
AXES = ("NCHW", "NCDHW")


class PackageError(ValueError):
    """A model package is missing, unreadable or does not follow the contract."""


@dataclass(frozen=True)
class Scope:
    """Which images a model accepts. Empty tuples / ``None`` ranges mean "not restricted"."""

    modalities: tuple[str, ...]
    dimensionality: str
    body_parts: tuple[str, ...] = ()
    pixel_spacing_mm: tuple[float, float] | None = None
    slice_spacing_mm: tuple[float, float] | None = None
    requires_geometry: bool = False


@dataclass(frozen=True)
class Window:
    """Intensity window applied before normalisation (in the image's own units, e.g. HU)."""

    center: float
    width: float


@dataclass(frozen=True)
class InputSpec:
    """How the model's input tensor is built.

    ``size`` (whole image resized to it, or a patch cut around each candidate) or ``patch_size``
    (sliding window) in the order of the spatial axes of ``axes`` (H, W or D, H, W); ``spacing_mm`` the
    grid to resample to, in the same order; ``normalization`` one of :data:`NORMALIZATIONS` applied
    after ``window``; ``mean``/``std`` per channel for ``mean_std``.

    ``unit_range`` is how the 2D models were trained: an 8-bit image (stored dtype uint8) is divided
    by 255; any other dtype is stretched between its ``percentiles``. ``resize`` is ``stretch``
    (aspect not kept) or ``letterbox`` (longer side to ``size``, antialiased bilinear, centred on a
    square padded with 0 after normalisation). ``invert_monochrome1`` flips MONOCHROME1 images so
    bright means dense. ``fill_value`` (image units, e.g. HU) fills patch parts outside the data.
    ``slice_thickness_mm``: a volume with thinner slices is first brought to this slice thickness
    (smoothed and resampled along its slice axis), as the training data was; ``None``: used as it is.
    """

    axes: str
    channels: int = 1
    name: str = "image"
    size: tuple[int, ...] | None = None
    patch_size: tuple[int, ...] | None = None
    spacing_mm: tuple[float, ...] | None = None
    window: Window | None = None
    normalization: str = "minmax"
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    percentiles: tuple[float, float] = (0.5, 99.5)
    resize: str = "stretch"
    invert_monochrome1: bool = True
    fill_value: float = 0.0
    slice_thickness_mm: float | None = None

    @property
    def spatial_dims(self) -> int:
        return len(self.axes) - 2


@dataclass(frozen=True)
class OutputSpec:
    """One ONNX output: its name and what it means (shape and units in words)."""

    name: str
    meaning: str


@dataclass(frozen=True)
class OperatingPoint:
    """A score threshold for ``label`` and what it achieved on validation data."""

    label: str
    threshold: float
    sensitivity: float
    specificity: float
    name: str = "default"
    measured_on: str = "validation split"


@dataclass(frozen=True)
class MarkRule:
    """A rule besides the threshold that keeps a finding above it from being marked, in plain words.

    ``name`` is what a hidden finding's ``hidden_by`` says (e.g. ``"per_scan_cap"``), ``limit`` the
    rule's number (e.g. 5 marks per scan); the Findings panel, ``findings.json`` and the card name it.
    """

    name: str
    description: str
    limit: float


@dataclass(frozen=True)
class Metric:
    """A measured value with its 95 % confidence interval (``None`` when not computed)."""

    value: float
    ci95: tuple[float, float] | None = None


@dataclass(frozen=True)
class TrainingData:
    """Where the weights came from: data set, licence, source and how it was split."""

    name: str
    licence: str
    source: str = ""
    split: str = ""
    pretrained_from: str = ""


@dataclass(frozen=True)
class ModelPackage:
    """The typed content of ``model.json`` (plus where it was read from, when it was)."""

    name: str
    version: str
    task: str
    target: str
    scope: Scope
    input: InputSpec
    outputs: tuple[OutputSpec, ...]
    labels: tuple[str, ...]
    operating_points: tuple[OperatingPoint, ...]
    explanation: str
    training_data: TrainingData
    metrics: dict[str, Metric] = field(default_factory=dict)
    sha256: str = ""
    description: str = ""
    pipeline: str = ""
    disclaimer: str = DISCLAIMER
    schema_version: int = SCHEMA_VERSION
    mark_rules: tuple[MarkRule, ...] = ()
    directory: Path | None = field(default=None, compare=False)

    @property
    def onnx_path(self) -> Path:
        if self.directory is None:
            raise PackageError(f"model '{self.name}' was not loaded from a folder")
        return self.directory / MODEL_FILE

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outputs)

    @property
    def has_cam_output(self) -> bool:
        return "cam" in self.output_names

    def mark_rule(self, name: str) -> MarkRule | None:
        """The marking rule called ``name`` (None when the package has none)."""
        return next((rule for rule in self.mark_rules if rule.name == name), None)

    def operating_point(self, label: str, name: str = "default") -> OperatingPoint | None:
        """The operating point called ``name`` for ``label`` (else the first for it, else None)."""
        points = [p for p in self.operating_points if p.label == label]
        named = [p for p in points if p.name == name]
        return (named or points or [None])[0]


# --- validation ------------------------------------------------------------------------------
def _check(condition: bool, problems: list[str], message: str) -> None:
    if not condition:
        problems.append(message)


def _is_rate(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0


def _range_problems(rng: tuple[float, float] | None, what: str) -> list[str]:
    if rng is None:
        return []
    lo, hi = rng
    if not (0 < lo <= hi):
        return [f"{what} must be [min, max] with 0 < min <= max, got {list(rng)}"]
    return []


def _scope_problems(scope: Scope) -> list[str]:
    problems: list[str] = []
    _check(scope.dimensionality in DIMENSIONALITIES, problems,
           f"scope.dimensionality must be one of {DIMENSIONALITIES}, got {scope.dimensionality!r}")
    _check(len(scope.modalities) > 0, problems, "scope.modalities must list at least one modality")
    problems += _range_problems(scope.pixel_spacing_mm, "scope.pixel_spacing_mm")
    problems += _range_problems(scope.slice_spacing_mm, "scope.slice_spacing_mm")
    return problems


def _input_problems(spec: InputSpec, scope: Scope) -> list[str]:
    problems: list[str] = []
    _check(spec.axes in AXES, problems, f"input.axes must be one of {AXES}, got {spec.axes!r}")
    expected_axes = "NCHW" if scope.dimensionality == "2d" else "NCDHW"
    _check(spec.axes == expected_axes, problems,
           f"input.axes {spec.axes!r} does not match scope.dimensionality {scope.dimensionality!r}")
    _check(spec.channels >= 1, problems, "input.channels must be >= 1")
    _check(spec.size is not None or spec.patch_size is not None, problems,
           "input needs a size (whole image) or a patch_size (sliding window)")
    for key in ("size", "patch_size", "spacing_mm"):
        value = getattr(spec, key)
        _check(value is None or len(value) == spec.spatial_dims, problems,
               f"input.{key} must have {spec.spatial_dims} values (one per spatial axis)")
        _check(value is None or all(v > 0 for v in value), problems, f"input.{key} must be positive")
    _check(spec.normalization in NORMALIZATIONS, problems,
           f"input.normalization must be one of {NORMALIZATIONS}, got {spec.normalization!r}")
    if spec.normalization == "mean_std":
        _check(len(spec.mean) == len(spec.std) == spec.channels, problems,
               "input.mean and input.std need one value per channel for 'mean_std'")
    _check(spec.window is None or spec.window.width > 0, problems, "input.window.width must be > 0")
    _check(spec.slice_thickness_mm is None or spec.slice_thickness_mm > 0, problems,
           "input.slice_thickness_mm must be > 0 when given")
    _check(spec.resize in RESIZES, problems, f"input.resize must be one of {RESIZES}, got {spec.resize!r}")
    lo, hi = spec.percentiles
    _check(0 <= lo < hi <= 100, problems, "input.percentiles must be [low, high] within 0..100")
    _check(spec.resize != "letterbox" or (spec.size is not None and len(set(spec.size)) == 1), problems,
           "input.resize 'letterbox' needs a square input.size")
    return problems


def _point_problems(package: ModelPackage) -> list[str]:
    problems: list[str] = []
    for point in package.operating_points:
        where = f"operating point {point.name!r} for {point.label!r}"
        _check(point.label in package.labels, problems, f"{where}: label is not one of {package.labels}")
        _check(math.isfinite(point.threshold), problems, f"{where}: threshold must be a number")
        _check(_is_rate(point.sensitivity) and _is_rate(point.specificity), problems,
               f"{where}: sensitivity and specificity must be measured rates in [0, 1]")
    return problems


def _metric_problems(metrics: Mapping[str, Metric]) -> list[str]:
    problems: list[str] = []
    for name, metric in metrics.items():
        _check(math.isfinite(metric.value), problems, f"metric {name!r}: value must be a finite number")
        if metric.ci95 is not None:
            lo, hi = metric.ci95
            _check(lo <= hi, problems, f"metric {name!r}: ci95 must be [low, high]")
    return problems


def validate_package(package: ModelPackage) -> list[str]:
    """Every way ``package`` breaks the contract, in plain words (empty when it is valid)."""
    problems: list[str] = []
    _check(bool(package.name.strip()), problems, "name must not be empty")
    _check("/" not in package.name and "\\" not in package.name, problems, "name must not contain '/'")
    _check(bool(package.version.strip()), problems, "version must not be empty")
    _check(package.task in TASKS, problems, f"task must be one of {TASKS}, got {package.task!r}")
    _check(package.target in TARGETS, problems, f"target must be one of {TARGETS}, got {package.target!r}")
    _check(package.explanation in EXPLANATIONS, problems,
           f"explanation must be one of {EXPLANATIONS}, got {package.explanation!r}")
    _check(package.explanation != "cam_output" or package.has_cam_output, problems,
           "explanation 'cam_output' needs an output named 'cam'")
    _check(len(package.outputs) > 0, problems, "outputs must list at least one output")
    _check(len(package.labels) > 0, problems, "labels must not be empty")
    _check(DISCLAIMER in package.disclaimer.lower(), problems,
           f"disclaimer must state {DISCLAIMER!r}")
    _check(len(package.sha256) == 64 and all(c in "0123456789abcdef" for c in package.sha256), problems,
           "sha256 must be the 64 lowercase hex digits of model.onnx's SHA-256")
    _check(bool(package.training_data.name and package.training_data.licence), problems,
           "training_data needs a name and a licence")
    problems += _scope_problems(package.scope)
    problems += _input_problems(package.input, package.scope)
    problems += _point_problems(package)
    problems += _metric_problems(package.metrics)
    return problems


# --- JSON <-> dataclasses --------------------------------------------------------------------
def _tuple_or_none(value: Any) -> tuple | None:
    return None if value is None else tuple(value)


def _scope_from(d: Mapping[str, Any]) -> Scope:
    return Scope(
        modalities=tuple(m.upper() for m in d["modalities"]),
        dimensionality=d["dimensionality"],
        body_parts=tuple(b.upper() for b in d.get("body_parts", ())),
        pixel_spacing_mm=_tuple_or_none(d.get("pixel_spacing_mm")),
        slice_spacing_mm=_tuple_or_none(d.get("slice_spacing_mm")),
        requires_geometry=bool(d.get("requires_geometry", False)),
    )


def _input_from(d: Mapping[str, Any]) -> InputSpec:
    window = d.get("window")
    return InputSpec(
        axes=d["axes"],
        channels=int(d.get("channels", 1)),
        name=d.get("name", "image"),
        size=_tuple_or_none(d.get("size")),
        patch_size=_tuple_or_none(d.get("patch_size")),
        spacing_mm=_tuple_or_none(d.get("spacing_mm")),
        window=None if window is None else Window(float(window["center"]), float(window["width"])),
        normalization=d.get("normalization", "minmax"),
        mean=tuple(d.get("mean", ())),
        std=tuple(d.get("std", ())),
        percentiles=tuple(float(v) for v in d.get("percentiles", (0.5, 99.5))),
        resize=d.get("resize", "stretch"),
        invert_monochrome1=bool(d.get("invert_monochrome1", True)),
        fill_value=float(d.get("fill_value", 0.0)),
        slice_thickness_mm=None if d.get("slice_thickness_mm") is None else float(d["slice_thickness_mm"]),
    )


def package_from_dict(data: Mapping[str, Any], directory: Path | None = None) -> ModelPackage:
    """Build a :class:`ModelPackage` from parsed ``model.json`` (raises :class:`PackageError`)."""
    try:
        package = ModelPackage(
            name=data["name"],
            version=str(data["version"]),
            task=data["task"],
            target=data["target"],
            scope=_scope_from(data["scope"]),
            input=_input_from(data["input"]),
            outputs=tuple(OutputSpec(o["name"], o.get("meaning", "")) for o in data["outputs"]),
            labels=tuple(data["labels"]),
            operating_points=tuple(OperatingPoint(**p) for p in data.get("operating_points", ())),
            explanation=data["explanation"],
            training_data=TrainingData(**data["training_data"]),
            metrics={k: Metric(float(v["value"]), _tuple_or_none(v.get("ci95")))
                     for k, v in data.get("metrics", {}).items()},
            sha256=data.get("sha256", ""),
            description=data.get("description", ""),
            pipeline=data.get("pipeline", ""),
            disclaimer=data.get("disclaimer", ""),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            mark_rules=tuple(MarkRule(str(r["name"]), str(r["description"]), float(r["limit"]))
                             for r in data.get("mark_rules", ())),
            directory=directory,
        )
    except KeyError as exc:
        raise PackageError(f"model.json is missing the field {exc.args[0]!r}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise PackageError(f"model.json has a field of the wrong type: {exc}") from exc
    return package


def package_to_dict(package: ModelPackage) -> dict[str, Any]:
    """The JSON-ready form of ``package`` (``directory`` left out)."""
    data = asdict(package)
    data.pop("directory")
    data["metrics"] = {k: {"value": m.value, "ci95": None if m.ci95 is None else list(m.ci95)}
                       for k, m in package.metrics.items()}
    return _lists(data)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value


# --- files -----------------------------------------------------------------------------------
def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def load_package(directory: str | Path) -> ModelPackage:
    """Read and validate ``<directory>/model.json`` (the checksum is checked by the registry)."""
    directory = Path(directory)
    meta = directory / META_FILE
    if not meta.is_file():
        raise PackageError(f"{directory}: no {META_FILE} (not a model package)")
    if not (directory / MODEL_FILE).is_file():
        raise PackageError(f"{directory}: {META_FILE} is there but {MODEL_FILE} is missing")
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{meta}: cannot read it as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise PackageError(f"{meta}: expected a JSON object at the top level")
    package = package_from_dict(data, directory=directory)
    problems = validate_package(package)
    if problems:
        raise PackageError(f"{meta} is not a valid model package: " + "; ".join(problems))
    return package


def save_package(package: ModelPackage, directory: str | Path | None = None) -> Path:
    """Validate ``package`` and write its ``model.json`` (into ``directory`` or its own folder)."""
    target = Path(directory) if directory is not None else package.directory
    if target is None:
        raise PackageError("save_package needs a directory")
    problems = validate_package(package)
    if problems:
        raise PackageError(f"model '{package.name}' is not valid: " + "; ".join(problems))
    target.mkdir(parents=True, exist_ok=True)
    path = target / META_FILE
    path.write_text(json.dumps(package_to_dict(package), indent=2) + "\n", encoding="utf-8")
    return path


def write_package(
    directory: str | Path,
    onnx_file: str | Path,
    package: ModelPackage,
    model_card: str | None = None,
    move: bool = False,
) -> ModelPackage:
    """Write a complete package folder: ``model.onnx`` (copied or moved), ``model.json`` with the
    file's SHA-256 filled in, and ``MODEL_CARD.md`` when ``model_card`` is given.

    Returns the package as written (with ``sha256`` and ``directory`` set). Raises
    :class:`PackageError` before touching the folder when the description is invalid.
    """
    directory = Path(directory)
    onnx_file = Path(onnx_file)
    if not onnx_file.is_file():
        raise PackageError(f"ONNX file not found: {onnx_file}")
    written = replace(package, sha256=sha256_of(onnx_file), directory=directory)
    problems = validate_package(written)
    if problems:
        raise PackageError(f"model '{package.name}' is not valid: " + "; ".join(problems))
    directory.mkdir(parents=True, exist_ok=True)
    destination = directory / MODEL_FILE
    if onnx_file.resolve() != destination.resolve():
        (shutil.move if move else shutil.copyfile)(onnx_file, destination)
    save_package(written, directory)
    if model_card is not None:
        (directory / CARD_FILE).write_text(model_card, encoding="utf-8")
    return written
