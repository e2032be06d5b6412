"""Seeded train/validation/test splits that keep a record's ``split_group`` on one side, saved as CSV."""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from ai.datasets.records import Record

SPLITS = ("train", "val", "test")


def assign_splits(
    records: list[Record], fractions: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 0
) -> dict[str, str]:
    """Map record id → split. Groups are shuffled per majority label (stratified) and filled in order."""
    groups: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        groups[rec.split_group or rec.id].append(rec)
    by_label: dict[int, list[str]] = defaultdict(list)
    for key, members in sorted(groups.items()):
        labels = [m.label_index for m in members]
        by_label[max(set(labels), key=labels.count)].append(key)
    rng = np.random.default_rng(seed)
    out: dict[str, str] = {}
    for label in sorted(by_label):
        keys = by_label[label]
        rng.shuffle(keys)
        _fill(keys, groups, fractions, out)
    return out


def _fill(keys: list[str], groups: dict[str, list[Record]], fractions: tuple[float, ...], out: dict) -> None:
    total = sum(len(groups[k]) for k in keys)
    bounds = np.cumsum(fractions) * total
    done = 0
    for key in keys:
        split = SPLITS[int(np.searchsorted(bounds, done, side="right"))] if done < total else SPLITS[-1]
        for rec in groups[key]:
            out[rec.id] = split
        done += len(groups[key])


def write_split_csv(path: Path, records: list[Record], splits: dict[str, str]) -> None:
    """Write ``id,label,group,split_group,split`` rows — atomically (a temporary file renamed over the old
    one), so that a training started alongside never reads a half-written split."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with partial.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "label", "group", "split_group", "split"])
        for rec in records:
            writer.writerow([rec.id, rec.label, rec.group, rec.split_group, splits[rec.id]])
    os.replace(partial, path)


def read_split_csv(path: Path) -> dict[str, str]:
    """Map id → split from a CSV written by :func:`write_split_csv`."""
    with Path(path).open(newline="") as fh:
        return {row["id"]: row["split"] for row in csv.DictReader(fh)}
