"""The nodule package: model.json and MODEL_CARD.md from the measured metrics.

``python -m ai.training.nodule_card [--scan-report DIR/metrics.json] [--bench bench.json]`` after
``python -m ai.training.nodule_eval``; the whole-scan report of LIDC-0314 comes from
``radsight validate --model nodule-ct --data <folder with lidc-idri-0314> --out DIR`` (run on the package
this script wrote first), the timings from ``bench/nodule_scan.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ai.package import (
    InputSpec,
    ModelPackage,
    OperatingPoint,
    OutputSpec,
    Scope,
    TrainingData,
    Window,
    write_package,
)
from ai.pipelines.nodule_patches import TRAINING_SPEC as SPEC
from ai.training.common import MODELS, WORK
from ai.training.evaluate import fmt, metric_objects
from ai.training.publish import rows

NAME = "nodule-ct"
VERSION = "3.1.0"
KEYS = ["lesion_sensitivity", "lesion_sensitivity_lt10mm", "lesion_sensitivity_ge10mm",
        "patch_specificity", "patch_auc"]
SPLIT = ("crops by patient (434 patients, seeded, 70/15/15; LIDC-0001/0003 crops moved to training with "
         "their scans); whole-scan negatives from LIDC-0001 and 0003; LIDC-0314 never trained on")
RUN = WORK / NAME / "all"


def _value(v) -> dict:
    return {"value": float(v), "ci95": None}


def package(m: dict, scan: dict | None) -> ModelPackage:
    loso = m["loso"]["ge2"]
    metrics = {f"crop_{k}": m["test"][k] for k in KEYS}
    metrics.update(froc_cpm_loso=_value(loso["froc_cpm"]), lesion_sensitivity_scan_loso=_value(
        loso["lesion_sensitivity"]), fp_per_scan_loso=_value(loso["fp_per_scan"]))
    if scan:
        s = scan["metrics"]
        metrics.update(froc_cpm_lidc0314=_value(s["froc_cpm"]),
                       lesion_sensitivity_lidc0314=_value(s["lesion_sensitivity"]),
                       fp_per_scan_lidc0314=_value(s["fp_per_scan"]))
    return ModelPackage(
        name=NAME, version=VERSION, task="detection", target="nodule", pipeline="nodule",
        scope=Scope(modalities=("CT",), dimensionality="3d", body_parts=(), slice_spacing_mm=(0.3, 3.0),
                    requires_geometry=True),
        input=InputSpec(axes="NCDHW", channels=1, size=(SPEC.patch,) * 3, spacing_mm=(SPEC.spacing_mm,) * 3,
                        window=Window(center=(SPEC.hu_low + SPEC.hu_high) / 2,
                                      width=SPEC.hu_high - SPEC.hu_low),
                        normalization="minmax", fill_value=SPEC.fill_hu, slice_thickness_mm=SPEC.slice_mm),
        outputs=(OutputSpec("logits", "calibrated scores before softmax (the ensemble's mean logits / "
                                      "validation temperature), (N, 2): background, nodule"),
                 OutputSpec("cam", "class activation maps, (N, 2, 8, 8, 8), last conv map × linear head, "
                                   "mean over the ensemble's networks")),
        labels=("background", "nodule"),
        operating_points=(OperatingPoint(
            label="nodule", threshold=round(m["threshold"], 6),
            sensitivity=round(loso["lesion_sensitivity"], 4),
            specificity=round(m["val"]["patch_specificity"]["value"], 4),
            measured_on="leave-one-scan-out held-out scans LIDC-0001/0003 (lowest threshold with <= 4 false "
                        "marks per scan; sensitivity per nodule of >= 2 readers); specificity: validation "
                        "crops' structure patches"),),
        explanation="cam_output",
        training_data=TrainingData(
            name="lidc-nodule-vois (LIDC-IDRI crops) + whole scans LIDC-IDRI-0001/0003", licence="CC BY 3.0",
            source="LIDC-IDRI, TCIA doi:10.7937/K9/TCIA.2015.LO9QL9SX; crops via github PabloLION/ct-slicing "
                   "(commit 07d32abf); scans via github drivendataorg/concept-to-clinic", split=SPLIT,
            pretrained_from="none: trained from scratch"),
        metrics=metric_objects(metrics),
        description="Lung nodules on whole chest CT: closed lung mask, multi-scale candidates, calibrated 3D "
                    "CNN score per candidate, marks at a threshold (no cap), mask/volume/axes and an own "
                    "explanation map per mark. Not for diagnostic use.",
    )


def _froc_row(metrics: dict) -> str:
    return " | ".join(f"{v:.2f}" for v in metrics["froc"].values())


def _nodules(scan_metrics: dict) -> str:
    lines = []
    for s in scan_metrics["per_scan"]:
        found = ", ".join(_nodule_words(n) for n in s["nodules"])
        lines.append(f"| {s['scan']} | {found or '—'} | {s['false_marks']} |")
    return "\n".join(lines)


def _nodule_words(n: dict) -> str:
    if not n["rank"]:
        return "not a candidate"
    return f"rank {n['rank']} score {n['score']}" + (" **marked**" if n["marked"] else " not marked")


def _recall(m: dict) -> str:
    out = []
    for scan, r in m["candidate_recall"].items():
        n2 = [n for n in r["nodules"] if n["readers"] >= 2]
        n1 = r["nodules"]
        out.append(f"| {scan} | {r['n_candidates']} | {sum(n['caught'] for n in n2)}/{len(n2)} | "
                   f"{sum(n['caught'] for n in n1)}/{len(n1)} |")
    return "\n".join(out)


IDLE_LOAD = 1.0  # a 1-minute load average below this before the bench: the 2 cores were otherwise idle


def _idle(b: dict) -> bool:
    return b.get("load_average_before", b["load_average"])[0] < IDLE_LOAD


def _bench_words(b: dict | None) -> str:
    if not b:
        return "not measured."
    where = ("on 2 otherwise idle cores" if _idle(b) else "while the machine was shared")
    load = b.get("load_average_before", b["load_average"])[0]
    return (f"{b['total_wall_s']} s wall {where} (load average {load} before the runs), "
            f"{b['total_cpu_s']} s of this process's CPU time (prepare {b['prepare_cpu_s']} s: lung mask, "
            f"{b['candidates']} candidates, patches; model {b['model_cpu_s']} s; interpret "
            f"{b['interpret_cpu_s']} s: {b['findings_listed']} findings with masks and maps).")


def _time_verdict(b: dict | None) -> str:
    if not b:
        return "not measured."
    if _idle(b):
        verdict = "**met**" if b["total_wall_s"] <= 15 else "**missed**"
        return (f"{verdict}: {b['total_wall_s']} s wall on 2 otherwise idle cores (DICOM loading excluded). "
                "No GPU was lent to this task.")
    verdict = "**met**" if b["total_cpu_s"] <= 15 else "**missed**"
    return (f"{verdict} by the CPU-time bound ({b['total_cpu_s']} s of CPU summed over threads bounds the "
            f"wall time on 2 idle cores from above); the wall time measured under load "
            f"({b['total_wall_s']} s) says nothing about an idle machine. No GPU was lent to this task.")


def _false_marks(n: int) -> str:
    return f"{n} false mark" + ("" if n == 1 else "s")


def _scan_words(scan_metrics: dict | None) -> str:
    """Per scan: its nodules' ranks, how many were marked, its false marks."""
    if not scan_metrics:
        return "not measured"
    out = []
    for sc in scan_metrics["per_scan"]:
        ranks = ", ".join(str(n["rank"]) for n in sc["nodules"])
        marked = sum(n["marked"] for n in sc["nodules"])
        name = sc["scan"].removeprefix("lidc-idri-")
        out.append(f"{name}: nodule rank {ranks}, {marked}/{len(sc['nodules'])} marked, "
                   f"{_false_marks(sc['false_marks'])}")
    return "; ".join(out)


def _every_scan_met(scan_metrics: dict) -> bool:
    return all(sc["false_marks"] <= 4 and all(n["marked"] for n in sc["nodules"])
               for sc in scan_metrics["per_scan"])


def _targets(m: dict, s: dict | None) -> str:
    """The issue-11 target lines, verdicts from the measured numbers."""
    loso, test = m["loso"]["ge2"], m["test"]["lesion_sensitivity"]["value"]
    lines = []
    if s:
        ok = "met" if s["lesion_sensitivity"] >= 1 and s["fp_per_scan"] <= 4 else "missed"
        lines.append(f"- Every nodule of ≥ 2 readers marked with ≤ 4 false marks per scan — **LIDC-0314 "
                     f"(test): {ok}** (sensitivity {s['lesion_sensitivity']:.2f}, {s['fp_per_scan']:.0f} "
                     "false marks).")
    pooled_ok = loso["lesion_sensitivity"] >= 1 and loso["fp_per_scan"] <= 4
    verdict = ("met" if _every_scan_met(loso) else
               "met on average, not on every scan" if pooled_ok else "missed")
    lines.append(f"- The same on held-out 0001/0003 (leave-one-scan-out) — **{verdict}**: sensitivity "
                 f"{loso['lesion_sensitivity']:.2f} at {loso['fp_per_scan']:.1f} false marks per scan "
                 f"({_scan_words(loso)}).")
    crop = "met" if test >= 0.85 else "missed"
    miss = "" if test >= 0.85 else f" (by {0.85 - test:.2f})"
    lines.append(f"- Crop-level lesion sensitivity ≥ 0.85 — **{crop} at the scan operating point**: "
                 f"{fmt(m['test']['lesion_sensitivity'])}{miss}.")
    return "\n".join(lines)


def _ensemble_rows() -> str:
    """The third round's table: every combination of the seeds, from the experiments file."""
    rounds = json.loads((MODELS / NAME / "experiments_after_2.0.0.json").read_text())
    lines = []
    for name, r in rounds["round_3"]["results"].items():
        crop = " / ".join(f"{v[0]:.2f}" for v in r["valcrop"])
        seeds = name.replace("Hs", "seed ").replace("H", "seed 0")
        later = ", ".join(map(str, r["ranks"][1:]))
        fps = f"{r['fp'][0]} / {r['fp'][1]}"
        lines.append(f"| {seeds} | {r['cpm']:.3f} | {r['ranks'][0]} | {later} | {fps} | {crop} |")
    return "\n".join(lines)


def _members(m: dict) -> list[dict]:
    """The ensemble's members (training root, seed); before 3.1.0 one net in :data:`WORK`."""
    return m.get("ensemble") or [{"root": str(WORK), "seed": 0}]


def _minutes(m: dict) -> str:
    """Each member's all-data training wall time (seeds in order)."""
    out = []
    for member in _members(m):
        info = Path(member["root"]) / NAME / "all" / "train_info.json"
        out.append(str(json.loads(info.read_text())["wall_minutes"]) if info.is_file() else "not recorded")
    return ", ".join(out)


def card(m: dict, scan: dict | None, bench: dict | None) -> str:
    template = (Path(__file__).with_name("nodule_card.md")).read_text()
    loso, test, trained = m["loso"]["ge2"], m["test"], m["train_scans_shipped_model"]
    s = scan["metrics"] if scan else None
    nan = float("nan")
    values = {
        "version": VERSION, "threshold": m["threshold"], "recall": _recall(m),
        "temps": ", ".join(f"{k} {v:.2f}" for k, v in m["temperature"].items()),
        "loso_froc": _froc_row(loso), "loso_cpm": loso["froc_cpm"], "loso_ls": loso["lesion_sensitivity"],
        "loso_fp": loso["fp_per_scan"], "loso_nodules": _nodules(loso),
        "loso1_cpm": m["loso"]["ge1"]["froc_cpm"],
        "scan_froc": _froc_row(s) if s else "not measured", "scan_cpm": s["froc_cpm"] if s else nan,
        "scan_ls": s["lesion_sensitivity"] if s else nan, "scan_fp": s["fp_per_scan"] if s else nan,
        "scan_nodules": _nodules(s) if s else "not measured", "crop_rows": rows(test, KEYS),
        "train_fp": trained["fp_per_scan"], "train_ls": trained["lesion_sensitivity"],
        "bench_words": _bench_words(bench), "time_verdict": _time_verdict(bench),
        "targets": _targets(m, s), "crop_ls": fmt(test["lesion_sensitivity"]),
        "minutes": _minutes(m),
        "seeds": ", ".join(str(e["seed"]) for e in _members(m)),
        "ensemble_rows": _ensemble_rows(), "scan_words": _scan_words(s),
    }
    return template.format(**values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scan-report", type=Path, default=None)
    parser.add_argument("--bench", type=Path, default=None)
    args = parser.parse_args()
    m = json.loads((RUN / "metrics.json").read_text())
    scan = json.loads(args.scan_report.read_text()) if args.scan_report else None
    bench = json.loads(args.bench.read_text()) if args.bench else None
    directory = MODELS / NAME
    write_package(directory, RUN / "model.onnx", package(m, scan), model_card=card(m, scan, bench))
    (directory / "metrics.json").write_text(json.dumps({**m, "lidc_0314_scan_mode": scan}, indent=2) + "\n")
    for old in directory.glob("train_info_*.json"):
        old.unlink()
    for member in _members(m):
        for run in ("all", "holdout-lidc-idri-0001", "holdout-lidc-idri-0003"):
            source = Path(member["root"]) / NAME / run / "train_info.json"
            if source.is_file():
                shutil.copyfile(source, directory / f"train_info_{run}_seed{member['seed']}.json")


if __name__ == "__main__":
    main()
