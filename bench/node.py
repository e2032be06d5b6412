"""DICOM node benchmark: storescu → `radsight node` vs storescu → Orthanc, same files, same run.

    .venv/bin/python bench/node.py [--runs 3] [--series DIR]

1. Store speed: dcmtk ``storescu`` sends LIDC-0314's 275 files to a fresh `radsight node`
   process and to a fresh Orthanc (own config, loopback), interleaved, ``--runs`` times each;
   prints the medians and ``store_ratio_vs_orthanc`` (RadSight / Orthanc; target ≤ 0.5).
2. Four storescu processes send a quarter of the files each, at once: prints how many are lost.
3. kill -9 of the node mid-transfer: checks the database is consistent (SQLite integrity, every
   row's file complete), restarts the node, resends everything, checks all 275 are filed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "net")]

from node_process import NodeProcess  # noqa: E402
from peers import ORTHANC_AET, Orthanc, free_port, storescu  # noqa: E402

from viewer.core.study_db import StudyDB  # noqa: E402

SENDER = "STORESCU@127.0.0.1"


def timed_store(port: int, paths: list[Path], called: str) -> float:
    start = time.perf_counter()
    done = storescu(port, paths, called_aet=called)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"storescu to {called} failed: {done.stderr[-500:]}")
    return elapsed


def radsight_run(work: Path, series: Path) -> tuple[float, int]:
    db_dir = Path(tempfile.mkdtemp(dir=work)) / "db"
    node = NodeProcess(db_dir, free_port(), [SENDER])
    try:
        seconds = timed_store(node.port, [series], "RADSIGHT")
    finally:
        node.stop()
    with StudyDB(db_dir) as db:
        return seconds, db.counts()["instances"]


def orthanc_run(work: Path, series: Path) -> tuple[float, int]:
    server = Orthanc(Path(tempfile.mkdtemp(dir=work)) / "orthanc")
    try:
        seconds = timed_store(server.dicom_port, [series], ORTHANC_AET)
        return seconds, int(server.rest("/statistics")["CountInstances"])
    finally:
        server.stop()


def store_speed(work: Path, series: Path, runs: int) -> None:
    ours, theirs = [], []
    for run in range(runs):
        seconds, count = radsight_run(work, series)
        ours.append(seconds)
        print(f"run {run + 1}: storescu → RadSight {seconds:.2f} s ({count} filed)", flush=True)
        seconds, count = orthanc_run(work, series)
        theirs.append(seconds)
        print(f"run {run + 1}: storescu → Orthanc  {seconds:.2f} s ({count} stored)", flush=True)
    radsight, orthanc = statistics.median(ours), statistics.median(theirs)
    print(f"radsight_store_s {radsight:.2f}\northanc_store_s {orthanc:.2f}")
    print(f"store_ratio_vs_orthanc {radsight / orthanc:.3f}")


def parallel_senders(work: Path, files: list[Path], senders: int = 4) -> None:
    db_dir = Path(tempfile.mkdtemp(dir=work)) / "db"
    node = NodeProcess(db_dir, free_port(), [SENDER])
    try:
        command = ["storescu", "-aet", "STORESCU", "-aec", "RADSIGHT", "127.0.0.1", str(node.port)]
        procs = [subprocess.Popen([*command, *map(str, files[n::senders])], stderr=subprocess.PIPE)
                 for n in range(senders)]
        codes = [p.wait(timeout=600) for p in procs]
    finally:
        node.stop()
    with StudyDB(db_dir) as db:
        filed, problems = db.counts()["instances"], db.problems()
    print(f"parallel_senders {senders} exit_codes {codes} filed {filed} lost {len(files) - filed} "
          f"problems {len(problems)}")


def kill_and_resend(work: Path, series: Path, total: int) -> None:
    db_dir, port = Path(tempfile.mkdtemp(dir=work)) / "db", free_port()
    node = NodeProcess(db_dir, port, [SENDER])
    command = ["storescu", "-aet", "STORESCU", "-aec", "RADSIGHT", "+sd", "+r", "+sp", "*.dcm", "127.0.0.1"]
    sender = subprocess.Popen([*command, str(port), str(series)], stderr=subprocess.DEVNULL)
    with StudyDB(db_dir) as watch:
        while watch.counts()["instances"] < total // 3 and sender.poll() is None:
            time.sleep(0.05)
    node.kill()
    sender.wait(timeout=120)
    with StudyDB(db_dir) as db:
        before, problems = db.counts()["instances"], db.problems()
    print(f"kill9_filed_before_restart {before} consistent {not problems} problems {problems[:3]}")
    node = NodeProcess(db_dir, port, [SENDER])
    try:
        resent = storescu(port, [series])
    finally:
        node.stop()
    with StudyDB(db_dir) as db:
        after, problems = db.counts()["instances"], db.problems()
    print(f"kill9_resend_exit {resent.returncode} filed_after_resend {after} of {total} "
          f"consistent {not problems}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--series", type=Path,
                        default=REPO.parent / "shared" / "data" / "dicom" / "lidc-idri-0314" / "series")
    args = parser.parse_args()
    files = sorted(args.series.glob("*.dcm"))
    print(f"series: {args.series} ({len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.0f} MB)")
    with tempfile.TemporaryDirectory(prefix="radsight-bench-node-") as tmp:
        work = Path(tmp)
        store_speed(work, args.series, args.runs)
        parallel_senders(work, files)
        kill_and_resend(work, args.series, len(files))


if __name__ == "__main__":
    main()
