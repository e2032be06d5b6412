"""`radsight selftest`: checks that an installation (or a PyInstaller bundle) works end to end.

Each check prints one line, ``ok`` or ``FAIL`` with the reason: the sample study decodes
(JPEG 2000 through pydicom's lazily loaded pixel plugins), every shipped model passes its
checksum and runs one inference in onnxruntime, and VTK renders offscreen. Exit code 1 when any
check fails. Touches no network and no patient data.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("selftest", help="check that this installation works")
    parser.add_argument("--no-render", action="store_true", help="skip the VTK rendering check")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checks: list[tuple[str, Callable[[], str]]] = [("sample study decodes", _sample)]
    checks += _model_checks()
    if not args.no_render:
        checks.append(("VTK renders offscreen", _render))
    failed = 0
    for name, check in checks:
        started = time.perf_counter()
        try:
            detail = check()
            print(f"ok    {name}: {detail} ({time.perf_counter() - started:.2f} s)")
        except Exception as exc:  # noqa: BLE001 - a self-test reports every failure
            failed += 1
            print(f"FAIL  {name}: {exc.__class__.__name__}: {exc}")
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _sample() -> str:
    from viewer.core.resources import sample_study_dir
    from viewer.core.series_loader import load_series

    volume = load_series(sample_study_dir()).volume
    if volume.shape[1:] != (512, 512) or volume.value_range[0] != -1000:
        raise ValueError(f"unexpected sample volume {volume.shape}, range {volume.value_range}")
    return f"{volume.shape[0]} slices, {volume.modality}"


def _model_checks() -> list[tuple[str, Callable[[], str]]]:
    from ai.registry import ModelRegistry

    registry = ModelRegistry()
    checks = [(f"model {entry.name}", _model_check(registry, entry.name)) for entry in registry.entries()]
    for problem in registry.problems:
        checks.append((f"model package {problem[:40]}", lambda p=problem: _raise(p)))
    return checks


def _raise(message: str) -> str:
    raise ValueError(message)


def _model_check(registry: object, name: str) -> Callable[[], str]:
    def check() -> str:
        from ai.runtime import ModelSession

        package = registry.load(name)  # type: ignore[attr-defined]
        session = ModelSession(package.onnx_path)
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in session.input_shape]
        result = session.run(np.zeros(shape, dtype=np.float32))
        return f"v{package.version}, {result.provider}, outputs {', '.join(result.outputs)}"
    return check


def _render() -> str:
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - registers the OpenGL render window
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkFiltersSources import vtkSphereSource
    from vtkmodules.vtkRenderingCore import (
        vtkActor,
        vtkPolyDataMapper,
        vtkRenderer,
        vtkRenderWindow,
        vtkWindowToImageFilter,
    )

    sphere = vtkSphereSource()
    mapper = vtkPolyDataMapper()
    mapper.SetInputConnection(sphere.GetOutputPort())
    actor = vtkActor()
    actor.SetMapper(mapper)
    renderer = vtkRenderer()
    renderer.AddActor(actor)
    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(64, 64)
    window.AddRenderer(renderer)
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.Update()
    pixels = vtk_to_numpy(grab.GetOutput().GetPointData().GetScalars())
    if pixels.max() == pixels.min():
        raise ValueError("offscreen render is blank")
    return window.GetClassName()
