"""The Qt-free view model: cursor/slices, windows and presets, screen transform, measurements."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from viewer.core.view_state import ScreenTransform, SliceViewState, Tool, ViewerModel, ViewKind, presets_for
from viewer.core.volume import Volume
from viewer.core.windowing import CT_PRESETS, Window


def ct_volume(shape: tuple[int, int, int] = (20, 40, 50)) -> Volume:
    voxels = np.full(shape, -1000, dtype=np.int16)
    voxels[:, 10:30, 10:40] = 40
    return Volume(voxels, (2.0, 0.5, 0.5), modality="CT")


def test_cursor_is_clamped_and_emits_only_on_change() -> None:
    model, seen = ViewerModel(), []
    model.set_volume(ct_volume())
    model.cursor_changed.connect(lambda: seen.append(model.cursor.copy()))
    assert list(model.cursor) == [10, 20, 25]
    model.step_slice(0, 100)
    model.step_slice(0, 1)  # already at the last slice: no event
    model.set_slice(2, -5)
    assert [list(c) for c in seen] == [[19, 20, 25], [19, 20, 0]]


def test_presets_ct_and_other_modalities() -> None:
    model = ViewerModel()
    model.set_volume(ct_volume())
    assert model.window == CT_PRESETS["mediastinum"]
    assert model.apply_preset(1) == CT_PRESETS["lung"] and model.window.name == "lung"
    assert model.apply_preset(9) is None
    with pytest.raises(KeyError, match="choices"):
        model.apply_named_preset("nope")
    mr = Volume(np.arange(1000, dtype=np.float32).reshape(10, 10, 10), (1, 1, 1), modality="MR",
                default_window=Window(500, 800, "from DICOM"))
    assert [w.name for w in presets_for(mr)] == ["from DICOM", "auto"]


def test_ct_presets_end_with_the_dicom_window_so_the_box_can_return_to_it() -> None:
    own = Window(-450, 2000, "from DICOM")
    ct = replace(ct_volume(), default_window=own)
    model = ViewerModel()
    model.set_volume(ct)
    presets = presets_for(ct)
    assert presets[:len(CT_PRESETS)] == list(CT_PRESETS.values()) and presets[-1] == own
    model.apply_preset(1)
    assert model.apply_preset(len(presets)) == own and model.window == own
    same = replace(ct, default_window=CT_PRESETS["lung"])  # the same as a preset: not listed twice
    assert presets_for(same) == list(CT_PRESETS.values())


def test_replace_volume_keeps_reader_state_and_takes_final_window() -> None:
    model, loaded = ViewerModel(), []
    model.loaded.connect(lambda: loaded.append(True))
    early = Volume(np.zeros((5, 8, 8), np.int16), (1, 1, 1), modality="MR")
    model.set_volume(early, complete=False)
    assert not model.complete and loaded == []
    model.set_slice(0, 1)
    final = early.with_voxels(np.arange(320, dtype=np.int16).reshape(5, 8, 8),
                              default_window=Window(100, 200, "from DICOM"))
    model.replace_volume(final)
    assert model.complete and loaded == [True]
    assert model.cursor[0] == 1 and model.window == Window(100, 200, "from DICOM")


def test_screen_transform_fits_and_round_trips() -> None:
    t = ScreenTransform.fit((100, 200), (2.0, 1.0), (400, 300))  # 200×200 mm shown in 400×300
    assert t.sx == pytest.approx(1.5) and t.sy == pytest.approx(3.0)  # square mm on screen
    assert t.y0 == pytest.approx(0.0) and t.x0 == pytest.approx(50.0)
    x, y = t.to_screen(10.0, 20.0)
    assert t.to_plane(x, y) == pytest.approx((10.0, 20.0))
    state = SliceViewState(ViewKind.CORONAL)
    state.zoom_by(2.0)
    state.pan_by(5, -5)
    state.reset()
    assert (state.zoom, state.pan) == (1.0, (0.0, 0.0))


def test_measure_uses_plane_geometry() -> None:
    model = ViewerModel()
    model.set_volume(ct_volume())
    geometry = model.geometry(ViewKind.CORONAL)
    from viewer.core.reslice import extract_plane

    image = extract_plane(model.volume, "coronal", 20)
    item = model.measure(Tool.DISTANCE, ViewKind.CORONAL, 20, [(0.0, 0.0), (3.0, 4.0)], image)
    assert item.result.length == pytest.approx(np.hypot(3 * 2.0, 4 * 0.5))  # rows 2 mm, cols 0.5 mm
    assert geometry.pixel_spacing == (2.0, 0.5)
    roi = model.measure(Tool.RECTANGLE, ViewKind.CORONAL, 20, [(2.0, 12.0), (8.0, 30.0)], image)
    assert roi.result.mean == pytest.approx(40.0) and roi.result.value_unit == "HU"
    assert [m.id for m in model.measurements] == [item.id, roi.id]
    model.show_measurement(item)
    assert model.cursor[1] == 20
