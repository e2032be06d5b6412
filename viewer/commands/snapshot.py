"""`radsight snapshot PATH --out FILE.png`: render what the viewer would show, offscreen.

With ``--analyze`` every applicable AI model runs first and the slice view shows its findings
(boxes of the findings above their operating point - all of them with ``--all-findings`` -,
markers, explanation heat map, colour bar), centred on the lead finding unless
``--slice``/``--z`` is given; the analysis' status line (models, provider, time, models that did
not apply and why) is printed. Not for diagnostic use.
"""

from __future__ import annotations

import argparse
from pathlib import Path

VIEWS = ("axial", "coronal", "sagittal", "3d")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 768x768, got {text!r}") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise argparse.ArgumentTypeError("size must be between 16 and 8192 pixels each way")
    return width, height


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("snapshot", help="render a view of a series to a PNG (offscreen)")
    parser.add_argument("path", type=Path, help="DICOM folder, file, DICOMDIR or PNG/JPEG")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--series", help="series key or SeriesInstanceUID (default: the largest)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--slice", type=int, help="slice number, 1-based as shown in the view (Im: n/N)")
    where.add_argument("--z", type=float, metavar="MM",
                       help="position in mm along the view's axis (z axial, y coronal, x sagittal)")
    parser.add_argument("--preset", help="window preset: lung, mediastinum, bone, brain, abdomen "
                        "(CT); 'from DICOM' or auto otherwise; for --view 3d: bone, lung, soft tissue")
    parser.add_argument("--view", choices=VIEWS, default="axial")
    parser.add_argument("--size", type=_size, default=(768, 768), metavar="WxH")
    parser.add_argument("--analyze", action="store_true",
                        help="run the applicable AI models and draw their findings and heat map "
                        "(2D views only; not for diagnostic use)")
    parser.add_argument("--all-findings", action="store_true",
                        help="with --analyze: boxes also for findings below their operating point")
    parser.add_argument("--modality", choices=("DX", "MR"), type=str.upper,
                        help="with --analyze: what a plain image (PNG/JPEG) shows, DX = radiograph, "
                        "MR = MR slice; without it no model runs on such an image")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from viewer.core.problems import DicomLoadError
    from viewer.core.series_loader import load_series

    try:
        result = load_series(args.path, series_key=args.series)
    except (DicomLoadError, FileNotFoundError) as exc:
        print(f"radsight snapshot: {exc}")
        return 1
    try:
        image = _render(result.volume, args, _body_part(result), _info(result))
    except (ValueError, KeyError, RuntimeError) as exc:
        print(f"radsight snapshot: {exc.args[0] if exc.args else exc}")
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(args.out), "PNG"):
        print(f"radsight snapshot: could not write {args.out}")
        return 1
    print(f"wrote {args.out} ({image.width()}×{image.height()})")
    return 0


def _body_part(result: object) -> str | None:
    series = getattr(result, "series", None)
    return (series.descriptor.body_part_examined or None) if series is not None else None


def _info(result: object) -> dict[str, str]:
    """The corner text the viewer shows for this series (patient, study date, series, acquisition)."""
    from viewer.ui.corner_info import series_info

    return series_info(getattr(result, "series", None), result.volume)  # type: ignore[attr-defined]


def _render(volume: object, args: argparse.Namespace, body_part: str | None = None,
            info: dict[str, str] | None = None) -> object:
    from viewer.ui.app import create_app

    create_app()
    if args.view == "3d":
        if getattr(args, "analyze", False):
            raise ValueError("--analyze draws on the 2D views (axial, coronal, sagittal), not --view 3d")
        return _render_3d(volume, args)
    if getattr(args, "analyze", False):
        return _render_analysis(volume, args, body_part, info)
    from viewer.core.view_state import ViewKind
    from viewer.ui.snapshot_render import render_slice

    return render_slice(volume, ViewKind(args.view), slice_number=args.slice, z_mm=args.z,
                        preset=args.preset, size=args.size, info=info)


def _render_analysis(volume: object, args: argparse.Namespace, body_part: str | None,
                     info: dict[str, str] | None = None) -> object:
    """Analyze, print what ran where, and render the view with the findings and heat map."""
    from viewer.core.raster_image import declare_modality
    from viewer.core.view_state import ViewKind
    from viewer.ui.analysis_snapshot import analyse_volume, render_analysis
    from viewer.ui.disclaimer_stamp import stamp_disclaimer

    if getattr(args, "modality", None) and volume.modality == "OT":  # type: ignore[attr-defined]
        volume = declare_modality(volume, args.modality)  # type: ignore[arg-type]
    summary = analyse_volume(volume, body_part)  # type: ignore[arg-type]
    print(summary.status_text())
    print("AI findings and heat maps: not for diagnostic use.")
    image = render_analysis(volume, summary, ViewKind(args.view), slice_number=args.slice,  # type: ignore[arg-type]
                            z_mm=args.z, preset=args.preset, size=args.size, info=info,
                            only_passing=not getattr(args, "all_findings", False))
    return stamp_disclaimer(image)


def _render_3d(volume: object, args: argparse.Namespace) -> object:
    """Volume rendering offscreen (VTK, CPU ray casting on software GL) → QImage."""
    import os

    from PySide6.QtGui import QImage

    if not os.environ.get("DISPLAY"):  # no X: let VTK pick EGL instead of failing on GLX first
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    from viewer.ui.volume_view import PRESETS, render_volume

    preset = args.preset or "bone"
    if preset not in PRESETS:
        raise ValueError(f"3D presets are {', '.join(PRESETS)}; got {preset!r}")
    pixels = render_volume(volume, preset, size=args.size)
    height, width, _ = pixels.shape
    return QImage(pixels.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()
