"""Cost of the 3D view's body/lung regions on LIDC-0314, and what they do to a full-quality frame.

Usage: ``xvfb-run -a .venv/bin/python bench/body_regions.py [--runs 3] [--size 512]``.
Times ``BodyRegions.of`` (wall and process CPU), then renders the bone preset at rest over the
whole volume and over the body alone (same scene, same camera, interleaved) and the lung preset
over the lungs. The last lines are machine-readable ``name value`` pairs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from viewer.core.body_regions import BodyRegions
from viewer.core.series_loader import load_series

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom"


def timed(fn: object) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def frame_ms(volume: object, region: str, preset: str, size: int) -> float:
    from viewer.ui.volume_view import PRESETS, VolumePreset, VolumeScene, offscreen_window

    window = offscreen_window((size, size))
    scene = VolumeScene()
    name = f"{preset}@{region}"  # the scene looks presets up by name: a variant for this region
    PRESETS[name] = VolumePreset(**{**PRESETS[preset].__dict__, "name": name, "region": region})
    scene.preset = PRESETS[name]
    scene.attach(window)
    scene.set_volume(volume)
    scene.render()  # mapper set-up
    ms = statistics.median(scene.render() * 1000 for _ in range(3))
    window.Finalize()
    return ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    volume = load_series(DATA / "lidc-idri-0314" / "series").volume
    walls, cpus = zip(*(timed(lambda: BodyRegions.of(volume)) for _ in range(args.runs)), strict=True)
    results = {"regions_wall_ms": statistics.median(walls), "regions_cpu_ms": statistics.median(cpus)}
    frames: dict[str, list[float]] = {"bone_all": [], "bone_body": [], "lung_lungs": []}
    for _ in range(args.runs):
        for key in frames:
            preset, region = key.split("_")
            frames[key].append(frame_ms(volume, "all" if region == "all" else region, preset, args.size))
    for key, values in frames.items():
        results[f"{key}_rest_ms"] = statistics.median(values)
    results["bone_body_vs_all_ratio"] = results["bone_body_rest_ms"] / results["bone_all_rest_ms"]
    for name, value in results.items():
        print(f"{name} {value:.3f}" if "ratio" in name else f"{name} {value:.1f}")


if __name__ == "__main__":
    main()
