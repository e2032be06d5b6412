"""MPR reslicing and 3D volume-rendering frame times on LIDC-0314 (and the tilted head CT).

Usage: ``.venv/bin/python bench/volume_render.py [--frames 6] [--size 768] [--only-3d]`` (offscreen VTK: EGL
or GLX on whatever OpenGL the machine has; on Mesa llvmpipe the CPU ray caster is used).
The last lines are machine-readable ``name value`` pairs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from viewer.core.reslice import anatomical_plane, extract_plane, extract_slab, plane_geometry
from viewer.core.series_loader import load_series
from viewer.core.volume import Volume

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom"


def median_ms(fn: Callable[[int], object], indices: list[int]) -> float:
    times = []
    for index in indices:
        start = time.perf_counter()
        fn(index)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_reslice(volume: Volume) -> dict[str, float]:
    out = {}
    for view in ("axial", "coronal", "sagittal"):
        geo = plane_geometry(volume, view)
        indices = list(range(0, geo.n_slices, max(1, geo.n_slices // 60)))
        out[f"{view}_reslice_ms"] = median_ms(
            lambda s, v=view, g=geo: extract_plane(volume, v, s, g), indices)
        inner = [i for i in indices if 10 <= i < geo.n_slices - 10]
        out[f"{view}_mip10mm_ms"] = median_ms(
            lambda s, v=view, g=geo: extract_slab(volume, v, s, 10.0, "mip", g), inner)
    return out


def bench_3d(volume: Volume, frames: int, size: int) -> dict[str, float]:
    from viewer.ui.volume_view import PRESETS, VolumeScene, offscreen_window

    window = offscreen_window((size, size))
    scene = VolumeScene()
    scene.attach(window)
    print(f"software GL: {scene.software_gl}; CPU mapper: {scene.uses_cpu_mapper}")
    scene.set_volume(volume)
    out: dict[str, float] = {}
    for name in PRESETS:
        scene.set_preset(name)
        first = scene.render() * 1000
        rest, interactive = [], []
        for _ in range(frames):
            scene.rotate(10, 0)
            rest.append(scene.render() * 1000)
        scene.set_interactive(True)
        scene.render()  # the coarse mapper's first frame
        cpu_started = time.process_time()
        for _ in range(frames):
            scene.rotate(10, 0)
            interactive.append(scene.render() * 1000)
        cpu_ms = (time.process_time() - cpu_started) * 1000 / frames
        scene.set_interactive(False)
        key = name.replace(" ", "_")
        out[f"3d_{key}_first_ms"] = first
        out[f"3d_{key}_rest_ms"] = statistics.median(rest)
        out[f"3d_{key}_interactive_ms"] = statistics.median(interactive)
        out[f"3d_{key}_interactive_cpu_ms"] = cpu_ms  # CPU time of all threads, per frame
        out[f"3d_{key}_interactive_sample_distance"] = scene._coarse.GetImageSampleDistance() \
            if scene._coarse is not None else 1.0
    window.Finalize()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--only-3d", action="store_true", help="skip the reslice timings")
    args = parser.parse_args()
    lidc = load_series(DATA / "lidc-idri-0314" / "series").volume
    if args.only_3d:
        for name, value in bench_3d(lidc, args.frames, args.size).items():
            print(f"{name} {value:.2f}")
        return
    results = bench_reslice(lidc)
    tilt = load_series(DATA / "ge-head-ct-gantry-tilt" / "series").volume
    centre = tilt.index_to_patient(np.array(tilt.shape) / 2)
    start = time.perf_counter()
    plane = anatomical_plane(tilt, "axial", centre)
    results["tilt_true_axial_oblique_ms"] = (time.perf_counter() - start) * 1000
    print(f"tilted head CT true axial plane: {plane.image.shape} px")
    results.update(bench_3d(lidc, args.frames, args.size))
    for name, value in results.items():
        print(f"{name} {value:.2f}")


if __name__ == "__main__":
    main()
