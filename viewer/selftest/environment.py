"""What the self-test ran on: install kind, platform, onnxruntime and the execution provider."""

from __future__ import annotations

import platform
import sys

from viewer.version import VERSION

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def install_kind() -> str:
    if getattr(sys, "frozen", False):
        return f"bundle at {sys.executable}"
    return f"source tree, Python {platform.python_version()}"


def header() -> list[str]:
    """The report's first lines: what is being tested, on what."""
    import onnxruntime as ort

    libc, libc_version = platform.libc_ver()
    return [f"RadSight {VERSION} self-test ({install_kind()}) - not for diagnostic use",
            f"platform: {platform.machine()} {platform.system()} {platform.release()}, "
            f"{libc} {libc_version}",
            f"onnxruntime {ort.__version__}, providers offered: {', '.join(ort.get_available_providers())}"]


def provider_lines(used: set[str]) -> list[str]:
    """Which execution provider the models actually ran on and, when CUDA was not used, why."""
    from ai.runtime import cuda_unavailable_reason

    lines = [f"execution provider used: {', '.join(sorted(used)) or 'none (no model ran)'}"]
    if CUDA not in used:
        reason = cuda_unavailable_reason() or "CUDA was asked for but onnxruntime could not start it"
        lines.append(f"CUDA not used: {reason}")
    return lines
