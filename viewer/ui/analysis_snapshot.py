"""`radsight snapshot ... --analyze`: the AI overlay rendered offscreen through the same slice view.

    summary = analyse_volume(volume, body_part)           # every applicable model, in this thread
    image = render_analysis(volume, summary, ViewKind.AXIAL, slice_number=None, preset="lung",
                            size=(768, 768))              # QImage: image + heat map + boxes
    print(summary.status_text())

Without ``slice_number`` / ``z_mm`` the view goes to the best finding that passes its operating
point (else the best finding) and centres it, as a click in the findings panel does.
"""

from __future__ import annotations

from PySide6.QtGui import QImage

from ai.findings import Finding
from ai.registry import ModelRegistry
from viewer.analysis import AnalysisResult, analyse, image_input
from viewer.core.view_state import ViewKind
from viewer.core.volume import Volume
from viewer.ui.finding_jump import jump_to_finding
from viewer.ui.heatmap_overlay import AIOverlay
from viewer.ui.snapshot_render import prepare_view


def analyse_volume(volume: Volume, body_part: str | None = None,
                   registry: ModelRegistry | None = None) -> AnalysisResult:
    """Run every applicable installed model on ``volume`` in the calling thread (the analysis service)."""
    return analyse(image_input(volume, body_part), registry=registry,
                   series_instance_uid=volume.series_instance_uid,
                   study_instance_uid=volume.study_instance_uid)


def lead_finding(findings: list[Finding]) -> Finding | None:
    """The best-scoring marked finding, else the best one."""
    ranked = sorted(findings, key=lambda f: (not f.marked, -f.score))
    return ranked[0] if ranked else None


def render_analysis(volume: Volume, summary: AnalysisResult, kind: ViewKind = ViewKind.AXIAL, *,
                    opacity: float = 0.5, only_passing: bool = False, **options: object) -> QImage:
    """The slice view of ``volume`` with the analysis' heat map, boxes and colour bar; with
    ``only_passing`` only the marked findings get a box (as in the window). The lead finding is
    selected and its own map shown."""
    view = prepare_view(volume, kind, **options)  # type: ignore[arg-type]
    overlay = AIOverlay(view)
    shown = [f for f in summary.findings if f.marked or not only_passing]
    overlay.set_results(summary.findings, summary.maps)
    overlay.set_findings(shown)
    overlay.set_opacity(opacity)
    view.add_layer(overlay.paint_view)
    lead = lead_finding(shown)
    if lead is not None:
        overlay.select_finding(lead)
        if options.get("slice_number") is None and options.get("z_mm") is None:
            jump_to_finding(view.model, [view], lead)
    return view.render_image()
