"""Framing a 3D scene: the camera that shows a box as large as the pane allows (VTK, no Qt).

``renderer.ResetCamera()`` fits the bounding *sphere* of the props into the view angle, so a
chest (a flat, wide box) fills about half of its pane. :func:`fit_camera` keeps the camera's
direction and measures where the box's eight corners (brought onto the focal plane) land on the
screen, then zooms until the larger of their width and height takes ``fill`` of the pane.

``fit_camera(renderer, bounds, fill=0.88)``; ``projected_fraction(renderer, bounds) -> (w, h)``
(fractions of the pane the box takes); ``CameraState.of(camera)`` to tell whether the user has
moved the camera since it was fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
from vtkmodules.vtkRenderingCore import vtkCamera, vtkRenderer

VIEW_ANGLE_DEG = 30.0
FILL = 0.88


def projected_fraction(renderer: vtkRenderer, bounds: tuple[float, ...]) -> tuple[float, float]:
    """Width and height of the screen box around the box's corners, moved along the line of sight
    onto the focal plane (so a deep box is not framed by its near face, which the content of a
    body seldom fills), as fractions of the pane."""
    camera = renderer.GetActiveCamera()
    focal, sight = np.array(camera.GetFocalPoint()), np.array(camera.GetDirectionOfProjection())
    xs, ys = [], []
    for corner in product(bounds[0:2], bounds[2:4], bounds[4:6]):
        x, y, z = np.array(corner) - np.dot(np.array(corner) - focal, sight) * sight
        renderer.SetWorldPoint(x, y, z, 1.0)
        renderer.WorldToDisplay()
        dx, dy, _ = renderer.GetDisplayPoint()
        xs.append(dx)
        ys.append(dy)
    width, height = renderer.GetSize()
    return (max(xs) - min(xs)) / max(width, 1), (max(ys) - min(ys)) / max(height, 1)


def fit_camera(renderer: vtkRenderer, bounds: tuple[float, ...], fill: float = FILL) -> None:
    """Centre the camera on ``bounds`` (its direction and view-up kept) and zoom so that the box
    takes ``fill`` of the pane in its tighter dimension."""
    camera = renderer.GetActiveCamera()
    camera.SetViewAngle(VIEW_ANGLE_DEG)
    renderer.ResetCamera(bounds)
    for _ in range(3):
        largest = max(projected_fraction(renderer, bounds))
        if largest <= 0 or abs(largest - fill) < 0.01:
            break
        camera.Zoom(fill / largest)
    renderer.ResetCameraClippingRange(bounds)


@dataclass(frozen=True)
class CameraState:
    """What the user changes by rotating, panning or zooming."""

    position: tuple[float, ...]
    focal_point: tuple[float, ...]
    view_up: tuple[float, ...]
    view_angle: float

    @classmethod
    def of(cls, camera: vtkCamera) -> CameraState:
        return cls(tuple(round(v, 6) for v in camera.GetPosition()),
                   tuple(round(v, 6) for v in camera.GetFocalPoint()),
                   tuple(round(v, 6) for v in camera.GetViewUp()), round(camera.GetViewAngle(), 6))
