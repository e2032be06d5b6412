"""3D volume rendering of a `Volume` with VTK, on its true patient geometry.

The volume is placed with a prop matrix built from ``direction`` and ``origin`` (voxel spacing
on the image data), so tilted or oblique series are rendered in LPS space, not sheared.
The camera looks from the patient's anterior with superior up (patient right on screen left).

What is rendered of a CT depends on the preset (`viewer.core.body_regions`): bone and soft tissue
show the body without the scanner table, the lung preset the lungs alone (vessels, airways,
nodules). The camera frames that content (`viewer.ui.volume_camera`: ~88 % of the pane, framed
again when the pane is resized or the preset changes, unless the user has moved the camera). An
orientation cube in patient letters sits in the bottom-left corner (`viewer.ui.orientation_cube`)
and finding markers go to ``scene.markers``, a renderer on a layer above the volume, so bone
never hides them.

Mapper choice (see ../shared/ENVIRONMENT.md): on software OpenGL (llvmpipe & co.) the GPU ray
caster takes seconds per frame, so the CPU ``vtkFixedPointVolumeRayCastMapper`` is used, with
a half-resolution copy and a coarser image sample distance while the user interacts, and the
full-resolution data at rest. With a real GPU, ``vtkGPUVolumeRayCastMapper``.
``RADSIGHT_VOLUME_MAPPER=cpu|gpu`` forces one.

API
---
``PRESETS``: name → :class:`VolumePreset` ("bone", "lung", "soft tissue"; colour and opacity
    transfer functions in HU).
``VolumeScene()`` — Qt-free scene: ``attach(render_window)``, ``set_volume(volume)``,
    ``set_preset(name)``, ``set_interactive(bool)`` (level of detail), ``reset_camera()``,
    ``rotate(azimuth, elevation)``, ``render() -> seconds``, ``uses_cpu_mapper``,
    ``software_gl``, ``content_bounds()``, ``markers`` (renderer for finding actors), ``cube``.
``render_volume(volume, preset="bone", size=(768, 768), azimuth=0, elevation=0,
    interactive=False, orientation_cube=True) -> np.ndarray`` — offscreen RGB uint8 (H, W, 3),
    row 0 at the top (for ``radsight snapshot --view 3d`` and tests).
``capture(render_window) -> np.ndarray`` — what the window shows, without re-rendering.
``is_software_gl(render_window) -> bool``.
``VolumeView(parent)`` — the Qt widget: preset selector + VTK render window interactor;
    ``set_volume``, ``set_preset``, ``grab_array()``; set ``view.model`` (anything with
    ``volume`` and a ``volume_changed.connect``) to follow the viewer model. Its full-quality
    frames go through ``view.rest_render`` (`render_abort.InterruptibleRender`): user input
    aborts them instead of waiting.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import vtkmodules.vtkInteractionStyle  # noqa: F401  (registers interactor styles)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (concrete render window classes)
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401  (GPU ray caster factory)
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkRenderingCore import (
    vtkColorTransferFunction,
    vtkRenderer,
    vtkRenderWindow,
    vtkVolume,
    vtkVolumeProperty,
    vtkWindowToImageFilter,
)
from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper, vtkGPUVolumeRayCastMapper

from viewer.core.body_regions import region_voxels, regions_of, volume_bounds_mm
from viewer.core.volume import Volume
from viewer.ui.orientation_cube import OrientationCube
from viewer.ui.render_abort import InterruptibleRender
from viewer.ui.volume_camera import CameraState, fit_camera

SOFTWARE_GL_NAMES = ("llvmpipe", "softpipe", "swrast", "swiftshader", "software rasterizer")
#: Coarsest rays (pixels between rays) the interaction mapper may use to keep up.
MAX_INTERACTIVE_SAMPLE_DISTANCE = 6.0
#: Quiet time after a drag before the full-quality frame is rendered (ms).
REST_DELAY_MS = 150
BACKGROUND = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class VolumePreset:
    """Transfer functions in HU: ``colors`` (value, r, g, b), ``opacity`` (value, alpha)."""

    name: str
    colors: tuple[tuple[float, float, float, float], ...]
    opacity: tuple[tuple[float, float], ...]
    shade: bool = True
    ambient: float = 0.3
    diffuse: float = 0.7
    specular: float = 0.2
    region: str = "all"  # what is rendered of a CT: "all", "body" (no table) or "lungs"


PRESETS: dict[str, VolumePreset] = {
    "bone": VolumePreset(
        "bone",
        colors=((-1000, 0.0, 0.0, 0.0), (150, 0.55, 0.25, 0.15), (300, 0.88, 0.78, 0.6),
                (1000, 1.0, 0.98, 0.9), (3000, 1.0, 1.0, 1.0)),
        opacity=((-1000, 0.0), (150, 0.0), (300, 0.15), (700, 0.6), (1500, 0.85), (3000, 0.9)),
        region="body",
    ),
    # The lungs alone (air outside them set to air): vessels, airway walls and nodules, densest
    # brightest; smooth opacity ramps (no flat translucent band: that was a blue moiré haze); no
    # black at low values, or vessels cut by the lung mask's edge (hila) show dark rims.
    "lung": VolumePreset(
        "lung",
        colors=((-1000, 0.62, 0.34, 0.28), (-500, 0.75, 0.42, 0.35),
                (-200, 0.95, 0.7, 0.6), (100, 1.0, 0.92, 0.85), (3000, 1.0, 1.0, 1.0)),
        opacity=((-1000, 0.0), (-820, 0.0), (-600, 0.04), (-350, 0.25), (-100, 0.6), (3000, 0.8)),
        shade=False,
        region="lungs",
    ),
    "soft tissue": VolumePreset(
        "soft tissue",
        colors=((-1000, 0.0, 0.0, 0.0), (-160, 0.0, 0.0, 0.0), (-60, 0.55, 0.25, 0.15),
                (40, 0.85, 0.45, 0.35), (200, 0.95, 0.8, 0.7), (3000, 1.0, 1.0, 1.0)),
        opacity=((-1000, 0.0), (-160, 0.0), (-60, 0.05), (40, 0.35), (250, 0.6), (3000, 0.8)),
        region="body",
    ),
}


def _renderer_string(render_window: vtkRenderWindow) -> str:
    caps = render_window.ReportCapabilities() or ""
    lines = [line for line in caps.splitlines() if "renderer string" in line.lower()]
    return lines[0] if lines else ""


def is_software_gl(render_window: vtkRenderWindow) -> bool:
    """True when the window's OpenGL renderer is a software rasteriser (e.g. Mesa llvmpipe).

    Renders the (possibly empty) window once if its context does not exist yet.
    """
    renderer = _renderer_string(render_window)
    if not renderer:
        render_window.Render()
        renderer = _renderer_string(render_window)
    return any(name in renderer.lower() for name in SOFTWARE_GL_NAMES)


def _image_data(voxels: np.ndarray, spacing: tuple[float, float, float]) -> tuple[vtkImageData, np.ndarray]:
    """vtkImageData sharing ``voxels`` ([k, j, i], C order) — keep the returned array alive."""
    array = np.ascontiguousarray(voxels)
    if array.dtype not in (np.int16, np.uint16, np.uint8, np.float32):
        array = array.astype(np.float32)
    image = vtkImageData()
    image.SetDimensions(array.shape[2], array.shape[1], array.shape[0])
    image.SetSpacing(spacing[2], spacing[1], spacing[0])
    image.SetOrigin(0.0, 0.0, 0.0)
    scalars = numpy_to_vtk(array.ravel(), deep=False)
    scalars.SetName("voxels")
    image.GetPointData().SetScalars(scalars)
    return image, array


def placement_matrix(volume: Volume) -> vtkMatrix4x4:
    """Prop matrix: image-data coordinates (mm along i, j, k) → LPS mm (direction + origin)."""
    m = np.eye(4)
    m[:3, :3] = volume.direction
    m[:3, 3] = volume.origin
    matrix = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            matrix.SetElement(r, c, float(m[r, c]))
    return matrix


def hu_mapping(volume: Volume | None) -> tuple[float, float]:
    """(scale, offset) taking preset HU to the volume's values: identity for CT; otherwise
    HU −1000…1000 onto the 0.5–99.5 percentile range (MR and other modalities have no HU)."""
    if volume is None or volume.modality == "CT":
        return 1.0, 0.0
    lo, hi = np.percentile(volume.voxels[::4, ::4, ::4], [0.5, 99.5])
    scale = max(float(hi - lo), 1e-6) / 2000.0
    return scale, float(lo) + 1000.0 * scale


def _transfer_functions(preset: VolumePreset, scale: float, offset: float) -> vtkVolumeProperty:
    colors, opacity = vtkColorTransferFunction(), vtkPiecewiseFunction()
    for value, r, g, b in preset.colors:
        colors.AddRGBPoint(value * scale + offset, r, g, b)
    for value, alpha in preset.opacity:
        opacity.AddPoint(value * scale + offset, alpha)
    prop = vtkVolumeProperty()
    prop.SetColor(colors)
    prop.SetScalarOpacity(opacity)
    prop.SetInterpolationTypeToLinear()
    prop.SetShade(preset.shade)
    prop.SetAmbient(preset.ambient)
    prop.SetDiffuse(preset.diffuse)
    prop.SetSpecular(preset.specular)
    return prop


class VolumeScene:
    """Renderer + volume prop + mappers; knows nothing about Qt.

    ``shade_on_cpu``: shading with the CPU mapper costs a gradient pass over the whole volume
    on the first frame (~11 s for LIDC-0314 on 2 busy cores) and slower frames, so by default
    the CPU path renders unshaded; the GPU path shades where the preset says so.
    ``interactive_sample_distance``: starting image sample distance of the coarse (interaction)
    mapper; while interacting it adapts (1.5–`MAX_INTERACTIVE_SAMPLE_DISTANCE`) to keep frames
    near ``interactive_target_ms`` (below the 60 ms a frame may take while the user drags).
    """

    def __init__(self, shade_on_cpu: bool = False, interactive_sample_distance: float = 2.0,
                 interactive_target_ms: float = 45.0) -> None:
        self.shade_on_cpu = shade_on_cpu
        self.interactive_sample_distance = interactive_sample_distance
        self.interactive_target_ms = interactive_target_ms
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(*BACKGROUND)
        self.prop = vtkVolume()
        self.markers = vtkRenderer()  # finding markers: a layer above the volume, never hidden by it
        self.markers.SetLayer(1)
        self.markers.InteractiveOff()
        self.markers.SetActiveCamera(self.renderer.GetActiveCamera())
        self.cube: OrientationCube | None = None
        self._region = ""  # the region the mappers hold
        self._fitted: tuple[tuple[int, int], CameraState] | None = None  # pane size, camera
        self.render_window: vtkRenderWindow | None = None
        self.volume: Volume | None = None
        self.preset = PRESETS["bone"]
        self.software_gl = True
        self.interactive = False
        self._full: vtkFixedPointVolumeRayCastMapper | vtkGPUVolumeRayCastMapper | None = None
        self._coarse: vtkFixedPointVolumeRayCastMapper | None = None
        self._keep: list[np.ndarray] = []  # numpy buffers the VTK images point into

    # --- setup ---------------------------------------------------------------------------
    def attach(self, render_window: vtkRenderWindow) -> None:
        """Render into ``render_window`` (adds the renderer; detects software GL)."""
        self.render_window = render_window
        render_window.SetNumberOfLayers(max(2, render_window.GetNumberOfLayers()))
        render_window.AddRenderer(self.renderer)
        render_window.AddRenderer(self.markers)
        self.cube = OrientationCube(self.renderer)
        render_window.AddObserver("StartEvent", lambda *_: self._refit_if_resized())  # before every frame
        self.software_gl = is_software_gl(render_window)

    @property
    def uses_cpu_mapper(self) -> bool:
        forced = os.environ.get("RADSIGHT_VOLUME_MAPPER", "").lower()
        return forced == "cpu" if forced in ("cpu", "gpu") else self.software_gl

    def set_volume(self, volume: Volume) -> None:
        """Show ``volume`` (replacing any previous one) and frame it from the anterior."""
        self.volume = volume
        self._region = ""
        self.prop.SetUserMatrix(placement_matrix(volume))
        self.set_preset(self.preset.name)  # makes the mappers for the preset's region
        if not self.renderer.HasViewProp(self.prop):
            self.renderer.AddVolume(self.prop)
        self.reset_camera()

    def _make_mappers(self, region: str) -> None:
        """Mappers over the voxels of ``region`` (a CT without its table, or its lungs alone)."""
        voxels = region_voxels(self.volume, region)
        spacing = self.volume.spacing
        full, array = _image_data(voxels, spacing)
        self._keep = [array]
        if self.uses_cpu_mapper:
            self._full = self._cpu_mapper(full, 1.0)
            coarse, small = _image_data(voxels[::2, ::2, ::2], tuple(2 * s for s in spacing))
            self._keep.append(small)
            self._coarse = self._cpu_mapper(coarse, self.interactive_sample_distance)
        else:
            self._full = vtkGPUVolumeRayCastMapper()
            self._full.SetInputData(full)
            self._full.SetAutoAdjustSampleDistances(True)
            self._coarse = None
        self._region = region
        self.prop.SetMapper(None)
        self.set_interactive(self.interactive)

    @staticmethod
    def _cpu_mapper(image: vtkImageData, sample_distance: float) -> vtkFixedPointVolumeRayCastMapper:
        mapper = vtkFixedPointVolumeRayCastMapper()
        mapper.SetInputData(image)
        mapper.SetAutoAdjustSampleDistances(False)
        mapper.SetImageSampleDistance(sample_distance)
        mapper.SetSampleDistance(min(image.GetSpacing()))
        return mapper

    def set_preset(self, name: str) -> None:
        """Apply a preset from :data:`PRESETS` (HU; non-CT data: see :func:`hu_mapping`)."""
        self.preset = PRESETS[name]
        if self.volume is not None and self._region != self.preset.region:
            self._make_mappers(self.preset.region)
            if self._camera_untouched():  # e.g. bone → lung: frame the lungs
                self._fit(self.content_bounds())
        prop = _transfer_functions(self.preset, *hu_mapping(self.volume))
        prop.SetShade(self.preset.shade and (self.shade_on_cpu or not self.uses_cpu_mapper))
        self.prop.SetProperty(prop)

    def set_interactive(self, interactive: bool) -> None:
        """Reduced level of detail while the user drags (CPU mapper), full quality at rest."""
        self.interactive = interactive
        mapper = self._coarse if (interactive and self._coarse is not None) else self._full
        if mapper is not None and self.prop.GetMapper() is not mapper:
            self.prop.SetMapper(mapper)

    # --- camera and rendering --------------------------------------------------------------
    def content_bounds(self) -> tuple[float, ...]:
        """LPS box of what is worth framing: the body of a CT (not its table) or its lungs (lung
        preset); the whole volume otherwise."""
        if self.volume is None:
            return self.prop.GetBounds()
        regions = regions_of(self.volume)
        if regions is None:
            return volume_bounds_mm(self.volume)
        return regions.bounds_mm(self.volume, self.preset.region)

    def reset_camera(self) -> None:
        """Anterior view (camera at the patient's front, superior up), the body filling the pane."""
        x0, x1, y0, y1, z0, z1 = bounds = self.content_bounds()
        centre = ((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2)
        camera = self.renderer.GetActiveCamera()
        camera.SetFocalPoint(*centre)
        camera.SetPosition(centre[0], centre[1] - 1000.0, centre[2])  # anterior = -y in LPS
        camera.SetViewUp(0.0, 0.0, 1.0)
        self._fit(bounds)

    def _fit(self, bounds: tuple[float, ...]) -> None:
        fit_camera(self.renderer, bounds)
        self.renderer.ResetCameraClippingRange(self.prop.GetBounds())
        size = tuple(self.render_window.GetSize()) if self.render_window is not None else (0, 0)
        self._fitted = (size, CameraState.of(self.renderer.GetActiveCamera()))

    def _camera_untouched(self) -> bool:
        """The camera is still where the last framing put it (the user has not moved it)."""
        return self._fitted is not None and CameraState.of(self.renderer.GetActiveCamera()) == self._fitted[1]

    def _refit_if_resized(self) -> None:
        """A pane that changed size is framed again, unless the user has moved the camera."""
        if self.render_window is None or not self._camera_untouched():
            return
        if tuple(self.render_window.GetSize()) != self._fitted[0]:
            self._fit(self.content_bounds())

    def rotate(self, azimuth: float = 0.0, elevation: float = 0.0) -> None:
        camera = self.renderer.GetActiveCamera()
        camera.Azimuth(azimuth)
        camera.Elevation(elevation)
        camera.OrthogonalizeViewUp()
        self.renderer.ResetCameraClippingRange()

    def render(self) -> float:
        """Render once; returns the seconds it took."""
        if self.render_window is None:
            raise RuntimeError("attach a render window first")
        start = time.perf_counter()
        self.render_window.Render()
        seconds = time.perf_counter() - start
        if self.interactive and self._coarse is not None:
            self._adapt_coarse(seconds * 1000)
        return seconds

    def _adapt_coarse(self, frame_ms: float) -> None:
        """Coarser rays when interaction frames are slow, finer when there is time to spare.

        A frame's cost goes with the number of rays, 1 / distance², so the distance that meets
        the target is distance · √(frame / target): one slow frame is enough to adapt.
        """
        distance = self._coarse.GetImageSampleDistance()
        if frame_ms > 1.1 * self.interactive_target_ms or frame_ms < 0.5 * self.interactive_target_ms:
            wanted = distance * (frame_ms / self.interactive_target_ms) ** 0.5
            distance = float(np.clip(round(wanted * 4) / 4, 1.5, MAX_INTERACTIVE_SAMPLE_DISTANCE))
        self._coarse.SetImageSampleDistance(distance)


def capture(render_window: vtkRenderWindow) -> np.ndarray:
    """RGB uint8 (H, W, 3) of what the window last rendered (row 0 = top); no re-render."""
    grabber = vtkWindowToImageFilter()
    grabber.SetInput(render_window)
    grabber.SetInputBufferTypeToRGB()
    grabber.ShouldRerenderOff()
    grabber.ReadFrontBufferOff()
    grabber.Update()
    image = grabber.GetOutput()
    w, h, _ = image.GetDimensions()
    pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(h, w, -1)
    return np.ascontiguousarray(pixels[::-1, :, :3])


def offscreen_window(size: tuple[int, int]) -> vtkRenderWindow:
    window = vtkRenderWindow()
    window.SetOffScreenRendering(True)
    window.SetSize(*size)
    return window


def render_volume(volume: Volume, preset: str = "bone", size: tuple[int, int] = (768, 768),
                  azimuth: float = 0.0, elevation: float = 0.0, interactive: bool = False,
                  orientation_cube: bool = True) -> np.ndarray:
    """Offscreen rendering of ``volume`` with ``preset`` → RGB uint8 (H, W, 3)."""
    window = offscreen_window(size)
    scene = VolumeScene()
    scene.preset = PRESETS[preset]
    scene.attach(window)
    scene.cube.set_visible(orientation_cube)
    scene.set_volume(volume)
    scene.rotate(azimuth, elevation)
    scene.set_interactive(interactive)
    scene.render()
    pixels = capture(window)
    window.Finalize()
    return pixels


# --- Qt widget ----------------------------------------------------------------------------

def _qt_widget_classes() -> tuple[type, type]:
    import vtkmodules.qt

    vtkmodules.qt.PyQtImpl = "PySide6"
    from PySide6.QtWidgets import QWidget
    from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor

    return QWidget, QVTKRenderWindowInteractor


_QWidget, _QVTKInteractor = _qt_widget_classes()


class VolumeView(_QWidget):  # type: ignore[misc, valid-type]
    """Interactive 3D view: a preset selector above a VTK render window."""

    def __init__(self, parent: object = None) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QComboBox, QVBoxLayout
        from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera

        super().__init__(parent)
        self.presets = QComboBox(self)
        self.presets.addItems(list(PRESETS))
        self.presets.currentTextChanged.connect(self.set_preset)
        self.vtk_widget = _QVTKInteractor(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.presets)
        layout.addWidget(self.vtk_widget, 1)
        self.scene = VolumeScene()
        self.rest_render: InterruptibleRender | None = None  # full-quality frames: see _render_full
        self._attached = False
        self._closed = False
        self._model: object | None = None
        self._rest_timer = QTimer(self)
        self._rest_timer.setSingleShot(True)
        self._rest_timer.setInterval(REST_DELAY_MS)
        self._rest_timer.timeout.connect(self._render_at_rest)
        style = vtkInteractorStyleTrackballCamera()
        style.AddObserver("StartInteractionEvent", lambda *_: self._interacting(True))
        style.AddObserver("EndInteractionEvent", lambda *_: self._interacting(False))
        self.vtk_widget.SetInteractorStyle(style)

    def _ensure_attached(self) -> None:
        if not self._attached:
            self.vtk_widget.Initialize()
            self.scene.attach(self.vtk_widget.GetRenderWindow())
            self.rest_render = InterruptibleRender(self.vtk_widget.GetRenderWindow(),
                                                   keep_alive=self._rendered_objects, parent=self)
            self._attached = True

    def _interacting(self, active: bool) -> None:
        """Coarse frames while dragging; the full-quality frame once the view has rested.

        The full frame (≤ 1 s on llvmpipe) is not rendered on mouse release but after
        `REST_DELAY_MS` of quiet, and not at all if another drag starts first, so a
        sequence of drags never waits for it.
        """
        if active:
            self._rest_timer.stop()
            self.scene.set_interactive(True)
        else:
            self._rest_timer.start()

    def _render_at_rest(self) -> None:
        if self.rest_render is not None and self.rest_render.rendering:  # fired from its check
            self._rest_timer.start()
            return
        self.scene.set_interactive(False)
        if self.scene.volume is not None:
            self._render_full()

    def _render_full(self) -> None:
        """Full-quality frame that a press, wheel or key aborts (`render_abort`): the input is
        then handled at once, and the frame is tried again after the next quiet spell."""
        if self.rest_render is None or self.rest_render.render():
            return
        if not self.scene.interactive and not self._closed:
            self._rest_timer.start()

    def _rendered_objects(self) -> list[object]:
        """What a render reads, kept alive while it runs (code run by an abort check may
        replace the volume or remove actors)."""
        props = self.scene.renderer.GetViewProps()
        items = [props.GetItemAsObject(i) for i in range(props.GetNumberOfItems())]
        return [*items, self.scene._full, self.scene._coarse, self.scene.prop.GetProperty(),
                *self.scene._keep]

    def _defer_while_rendering(self, call: Callable[[], None]) -> bool:
        """During a full-quality render (only code run by its abort check gets here): end the
        render and make ``call`` after it. True when deferred."""
        if self.rest_render is None or not self.rest_render.rendering:
            return False
        from PySide6.QtCore import QTimer

        self.rest_render.request_abort()
        QTimer.singleShot(0, self, call)
        return True

    # --- public API --------------------------------------------------------------------------
    @property
    def model(self) -> object | None:
        return self._model

    @model.setter
    def model(self, model: object) -> None:
        """Follow a viewer model: anything with ``volume`` and ``volume_changed.connect(cb)``."""
        self._model = model
        model.volume_changed.connect(self._on_model_volume)  # type: ignore[attr-defined]
        self._on_model_volume()

    def _on_model_volume(self) -> None:
        volume = getattr(self._model, "volume", None)
        if volume is not None and volume is not self.scene.volume:
            self.set_volume(volume)

    def set_volume(self, volume: Volume) -> None:
        self._ensure_attached()
        if self._defer_while_rendering(lambda: self.set_volume(volume)):
            return
        self.scene.set_volume(volume)
        self._render_full()

    def set_preset(self, name: str) -> None:
        if self.presets.currentText() != name:
            self.presets.setCurrentText(name)  # re-enters through currentTextChanged
            return
        if self._defer_while_rendering(lambda: self.set_preset(name)):
            return
        self.scene.set_preset(name)
        if self.scene.volume is not None:
            self._render_full()

    def grab_array(self) -> np.ndarray:
        """RGB pixels of the 3D view as last rendered (VTK capture; QWidget.grab() is unreliable)."""
        self._ensure_attached()
        return capture(self.vtk_widget.GetRenderWindow())

    def closeEvent(self, event: object) -> None:  # noqa: N802 (Qt override)
        self._closed = True
        self._rest_timer.stop()
        if self.rest_render is not None:
            self.rest_render.close()
        self.vtk_widget.Finalize()
        super().closeEvent(event)
