"""`radsight node` as a real subprocess for tests and the benchmark: start, wait until it listens, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class NodeProcess:
    """``python -m viewer node ...``; ready once it printed its "listening" line."""

    def __init__(self, db: Path, port: int, allow: list[str], aet: str = "RADSIGHT") -> None:
        self.port = port
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-m", "viewer", "node", "--aet", aet, "--port", str(port), "--db", str(db),
                   "--bind", "127.0.0.1", "--allow", *allow]
        self.log_path = db.parent / f"node-{port}.log"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log, env=env, cwd=REPO)
        assert self.process.stdout is not None
        first = self.process.stdout.readline().decode()  # blocks until it listens or exits
        if "listening" not in first:
            self.process.wait(timeout=30)
            raise RuntimeError(f"radsight node did not start: {first!r}; log {self.log_path}")

    def stop(self) -> str:
        """SIGTERM, wait, and return what it printed after the listening line."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=60)
        self._log.close()
        return out.decode()

    def kill(self) -> None:
        """kill -9, as a crash would."""
        self.process.kill()
        self.process.communicate(timeout=60)
        self._log.close()
