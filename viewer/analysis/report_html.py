"""A reading report as one self-contained HTML file (Qt-free): images embedded as PNG data URIs,
no scripts, no external resources, styles inline; printable (Qt's QTextDocument/QPrinter or any
browser) to PDF. Filled from :class:`viewer.analysis.report_content.ReportContent`.

Key images: each marked finding's slice with its box and its own explanation map (drawn by
:func:`viewer.analysis.overlay.finding_image`, the code behind ``radsight analyze``'s PNGs) and the
slices the reader marked as key. Not for diagnostic use.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from html import escape

import numpy as np
from PIL import Image, ImageDraw

from ai.findings import Finding
from ai.package import DISCLAIMER
from viewer.analysis.overlay import finding_image, grey_slice, slice_of
from viewer.analysis.report_content import ReportContent
from viewer.core.measurements import Measurement

BANNER = f"RadSight reading report — {DISCLAIMER.upper()}"
_STYLE = """
body { font-family: DejaVu Sans, Arial, sans-serif; color: #111; background: #fff; margin: 24px; }
h1 { font-size: 20px; } h2 { font-size: 16px; border-bottom: 1px solid #888; }
.disclaimer { background: #ffe9a8; color: #000; border: 2px solid #8a6d00; padding: 6px 10px;
              font-weight: bold; }
table { border-collapse: collapse; margin: 6px 0 12px 0; }
td, th { border: 1px solid #999; padding: 3px 8px; font-size: 12px; text-align: left; }
figure { display: inline-block; margin: 6px; vertical-align: top; }
figcaption { font-size: 12px; max-width: 420px; }
img { width: 400px; height: auto; image-rendering: auto; }
"""


def png_data_uri(image: Image.Image) -> str:
    """A PIL image as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def key_image(content: ReportContent, k: int) -> Image.Image:
    """Axial slice ``k`` (0-based) through the default window, its number written 1-based."""
    volume = content.volume
    image = Image.fromarray(np.repeat(grey_slice(volume, k)[..., None], 3, axis=2).astype(np.uint8))
    ImageDraw.Draw(image).text((4, 4), f"Im {k + 1}/{volume.shape[0]} - {DISCLAIMER}",
                               fill=(255, 210, 0))
    return image


def render_report(content: ReportContent, created: datetime | None = None) -> str:
    """The report as one HTML document (see the module docstring)."""
    created = created or datetime.now(UTC)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(BANNER)}</title>",
             f"<style>{_STYLE}</style></head><body>",
             f"<p class='disclaimer' id='disclaimer'>{escape(DISCLAIMER.upper())}: AI findings and maps "
             "are research output, not a diagnosis.</p>",
             f"<h1>RadSight reading report</h1><p>Created {created:%Y-%m-%d %H:%M} UTC</p>",
             _identification(content), _models(content), _findings_table(content),
             _key_images(content), _verdicts(content), _measurements(content),
             f"<p class='disclaimer'>{escape(DISCLAIMER.upper())}</p></body></html>"]
    return "\n".join(parts)


def _table(table_id: str, head: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table id='{table_id}'><tr>{cells}</tr>{body}</table>"


def _identification(content: ReportContent) -> str:
    volume = content.volume
    rows = list(content.identification) or [("Series", volume.series_description or "(unnamed)")]
    rows += [("Series Instance UID", volume.series_instance_uid or "-"),
             ("Image size", "×".join(str(n) for n in volume.shape[::-1]) + " voxels")]
    return "<h2>Patient and study</h2>" + _table("identification", ("Item", "Value"), rows)


def _models(content: ReportContent) -> str:
    if not content.models:
        return "<h2>AI models</h2><p id='models'>No AI analysis in this report.</p>"
    rows = [(m.name, m.version, m.device or "-", "-" if m.seconds is None else f"{m.seconds:.1f} s")
            for m in content.models]
    status = f"<p>{escape(content.analysis_status)}</p>" if content.analysis_status else ""
    return "<h2>AI models</h2>" + _table("models", ("Model", "Version", "Device", "Time"), rows) + status


def _finding_row(content: ReportContent, number: int, finding: Finding) -> tuple[object, ...]:
    verdict = content.verdicts.get(finding.id)
    threshold = "-" if finding.threshold is None else f"{finding.threshold:.3f}"
    marked = "yes" if finding.marked else (f"no (rule {finding.hidden_by})" if finding.hidden_by else "no")
    where = "-" if finding.center_mm is None else ", ".join(f"{v:.1f}" for v in finding.center_mm)
    return (number, finding.label, f"{finding.score:.3f}", threshold, marked,
            f"{finding.model} {finding.model_version}", slice_of(finding, content.volume.shape[0]) + 1,
            where, verdict.verdict if verdict else "-", verdict.comment if verdict else "")


def reported_findings(content: ReportContent) -> list[Finding]:
    """The findings the table lists: the marked ones and any the reader gave a verdict on."""
    return [f for f in content.findings if f.marked or f.id in content.verdicts]


def _findings_table(content: ReportContent) -> str:
    listed = reported_findings(content)
    rest = len(content.findings) - len(listed)
    more = (f"<p>{rest} more finding(s) not marked (below the operating point or hidden by a marking "
            "rule) and without a verdict are not listed.</p>") if rest else ""
    if not listed:
        return f"<h2>Findings</h2><p id='findings'>No marked AI findings.</p>{more}"
    head = ("#", "Finding", "Score", "Operating point", "Marked", "Model", "Slice", "Centre (mm, x y z)",
            "Reader's verdict", "Comment")
    rows = [_finding_row(content, n, f) for n, f in enumerate(listed, 1)]
    return "<h2>Findings</h2>" + _table("findings", head, rows) + more


def _figure(image: Image.Image, caption: str, kind: str) -> str:
    return (f"<figure class='{kind}'><img src='{png_data_uri(image)}' width='400' alt='{escape(caption)}'>"
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _key_images(content: ReportContent) -> str:
    depth = content.volume.shape[0]
    figures = [_figure(finding_image(content.volume, f, content.explanation(f)),
                       f"Finding {n}: {f.label} {f.score:.2f} ({f.model}), "
                       f"slice {slice_of(f, depth) + 1}/{depth}", "finding-image")
               for n, f in enumerate(reported_findings(content), 1) if f.marked]
    figures += [_figure(key_image(content, k), f"Key image: slice {k + 1}/{depth}", "key-image")
                for k in sorted(set(content.key_slices)) if 0 <= k < depth]
    body = "".join(figures) or "<p>No key images.</p>"
    return f"<h2>Key images</h2><div id='key-images'>{body}</div>"


def _verdicts(content: ReportContent) -> str:
    shown = {f.id for f in content.findings}
    rows = [(s.finding["label"], f"{float(s.finding['score']):.3f}", s.finding.get("model", ""),
             s.feedback.verdict, s.feedback.comment, f"{s.feedback.given_at:%Y-%m-%d %H:%M}")
            for s in content.stored if s.feedback is not None and s.uid not in shown]
    rows += [(f"missed: {m.label}", "-", m.model or "-", "added by reader", m.comment,
              f"{m.added_at:%Y-%m-%d %H:%M}") for m in content.missed]
    listed = reported_findings(content)
    given = sum(1 for f in listed if f.id in content.verdicts)
    text = f"<p>Verdicts on the findings above: {given} of {len(listed)}.</p>"
    if rows:
        text += "<p>Earlier verdicts stored for this series (feedback store):</p>" + _table(
            "verdicts", ("Finding", "Score", "Model", "Verdict", "Comment", "Given"), rows)
    return "<h2>Reader's verdicts</h2>" + text


def _measurement_row(item: Measurement) -> tuple[object, ...]:
    return (item.id, item.kind, item.view, item.slice_index + 1, item.summary())


def _measurements(content: ReportContent) -> str:
    if not content.measurements:
        return "<h2>Measurements</h2><p id='measurements'>No measurements.</p>"
    rows = [_measurement_row(m) for m in content.measurements]
    return "<h2>Measurements</h2>" + _table("measurements", ("#", "Kind", "View", "Slice", "Result"), rows)
