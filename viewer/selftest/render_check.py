"""VTK renders a CT slice off-screen, and the frame's pixels show it."""

from __future__ import annotations

import os

import numpy as np


def render_check() -> str:
    """Render a test pattern as a VTK image actor off-screen; check the grabbed frame."""
    if not os.environ.get("DISPLAY"):  # no X server: EGL directly, without VTK's X warning
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import vtkmodules.vtkInteractionStyle  # noqa: F401 - needed in a bundle too
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - registers the OpenGL render window
    from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkRenderingCore import (
        vtkImageActor,
        vtkRenderer,
        vtkRenderWindow,
        vtkWindowToImageFilter,
    )

    grey = _test_pattern()
    image = vtkImageData()
    image.SetDimensions(grey.shape[1], grey.shape[0], 1)
    image.GetPointData().SetScalars(numpy_to_vtk(grey.ravel(), deep=True))
    actor = vtkImageActor()
    actor.GetMapper().SetInputData(image)
    renderer = vtkRenderer()
    renderer.AddActor(actor)
    renderer.ResetCamera()
    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(128, 128)
    window.AddRenderer(renderer)
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.ShouldRerenderOff()
    grab.Update()
    frame = vtk_to_numpy(grab.GetOutput().GetPointData().GetScalars()).reshape(128, 128, -1)
    renderer_name = _gl_renderer(window)
    window.Finalize()
    _check_frame(frame)
    return f"{window.GetClassName()} on {renderer_name}: 128x128 frame shows the pattern"


def _test_pattern() -> np.ndarray:
    """64 x 64 grey: dark left half, bright right half."""
    grey = np.full((64, 64), 30, dtype=np.uint8)
    grey[:, 32:] = 220
    return grey


def _check_frame(frame: np.ndarray) -> None:
    """Dark and bright halves where the image lies (centre), black background in the corners."""
    grey = frame[..., 0].astype(float)
    left, right = grey[44:84, 32:56].mean(), grey[44:84, 72:96].mean()
    corner = grey[:8, :8].mean()
    if not (abs(left - 30) < 15 and abs(right - 220) < 15 and corner < 10):
        raise ValueError(f"off-screen frame does not show the image (left half {left:.0f}, right half "
                         f"{right:.0f}, corner {corner:.0f}; expected 30, 220, 0)")


def _gl_renderer(window: object) -> str:
    info = window.ReportCapabilities() or ""  # type: ignore[attr-defined]
    for line in info.splitlines():
        if "OpenGL renderer string" in line:
            return line.split(":", 1)[1].strip()
    return "unknown OpenGL renderer"
