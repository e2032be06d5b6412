"""The orientation cube of the 3D view: a small annotated cube in a corner that turns with the
camera, its faces lettered in patient coordinates (VTK, no Qt).

The scene is in LPS millimetres (see `viewer.ui.volume_view`), so the cube is too: +x is the
patient's Left, +y Posterior, +z Superior. The letters have their own colours (lighting off, so a
letter's pixels have exactly its colour): red for L/R, green for A/P, blue for S/I, the positive
direction lighter. It lives in its own renderer, on a layer above the volume, whose camera copies
the scene camera's direction before every frame; so it works in an interactive window and in an
offscreen one (snapshots, tests) alike — no interactor needed, unlike vtkOrientationMarkerWidget.

    cube = OrientationCube(scene_renderer)   # after scene_renderer is in a render window
    LETTER_RGB["L"], FACE_LETTERS["XPlus"] == "L"
"""

from __future__ import annotations

from vtkmodules.vtkRenderingAnnotation import vtkAnnotatedCubeActor
from vtkmodules.vtkRenderingCore import vtkRenderer

#: vtkAnnotatedCubeActor face → letter (LPS: +x left, +y posterior, +z superior).
FACE_LETTERS = {"XPlus": "L", "XMinus": "R", "YPlus": "P", "YMinus": "A", "ZPlus": "S", "ZMinus": "I"}
LETTER_RGB = {
    "L": (1.0, 0.72, 0.72), "R": (0.92, 0.45, 0.45),
    "P": (0.62, 0.95, 0.62), "A": (0.3, 0.78, 0.3),
    "S": (0.62, 0.75, 1.0), "I": (0.3, 0.45, 0.95),
}  # muted: never the saturated red / yellow / cyan of the finding markers
CUBE_RGB = (0.32, 0.34, 0.38)
#: Side of the cube's square corner pane: this fraction of the window's smaller side, in pixels
#: between MIN_PX and MAX_PX.
SIZE_FRACTION, MIN_PX, MAX_PX = 0.17, 64, 120
MARGIN_PX = 6
_CAMERA_DISTANCE = 3.0  # cube of side 1: ~60 % of its pane at a 30° view angle, corners inside


def cube_actor() -> vtkAnnotatedCubeActor:
    cube = vtkAnnotatedCubeActor()
    for face, letter in FACE_LETTERS.items():
        getattr(cube, f"Set{face}FaceText")(letter)
        prop = getattr(cube, f"Get{face}FaceProperty")()
        prop.SetColor(*LETTER_RGB[letter])
        prop.LightingOff()
    cube.SetFaceTextScale(0.7)
    cube.GetCubeProperty().SetColor(*CUBE_RGB)
    cube.GetCubeProperty().SetAmbient(0.5)
    cube.SetTextEdgesVisibility(False)
    return cube


def cube_pane_px(width: int, height: int) -> tuple[int, int, int]:
    """(left, bottom, side) in pixels of the cube's pane in a ``width`` × ``height`` window."""
    smaller = min(width, height)
    side = int(min(MAX_PX, max(MIN_PX, SIZE_FRACTION * smaller), smaller / 4))
    return MARGIN_PX, MARGIN_PX, side


class OrientationCube:
    """A cube in the bottom-left corner of ``scene``'s render window, turning with its camera."""

    def __init__(self, scene: vtkRenderer, layer: int = 2) -> None:
        self.scene = scene
        self.renderer = vtkRenderer()
        self.renderer.SetLayer(layer)
        self.renderer.InteractiveOff()
        self.actor = cube_actor()
        self.renderer.AddActor(self.actor)
        window = scene.GetRenderWindow()
        window.SetNumberOfLayers(max(window.GetNumberOfLayers(), layer + 1))
        window.AddRenderer(self.renderer)
        scene.AddObserver("StartEvent", lambda *_: self.follow())

    def pane_px(self) -> tuple[int, int, int]:
        """(left, bottom, side) of the cube's pane in pixels."""
        return cube_pane_px(*self.scene.GetRenderWindow().GetSize())

    def follow(self) -> None:
        """Place the pane and turn the cube's camera as the scene's camera looks."""
        width, height = self.scene.GetRenderWindow().GetSize()
        left, bottom, side = self.pane_px()
        width, height = max(width, 1), max(height, 1)
        self.renderer.SetViewport(left / width, bottom / height,
                                  min(1.0, (left + side) / width), min(1.0, (bottom + side) / height))
        source = self.scene.GetActiveCamera()
        direction = source.GetDirectionOfProjection()
        camera = self.renderer.GetActiveCamera()
        camera.SetFocalPoint(0.0, 0.0, 0.0)
        camera.SetPosition(*(-_CAMERA_DISTANCE * d for d in direction))
        camera.SetViewUp(*source.GetViewUp())
        camera.SetViewAngle(30.0)
        self.renderer.ResetCameraClippingRange()

    def set_visible(self, visible: bool) -> None:
        self.actor.SetVisibility(visible)
