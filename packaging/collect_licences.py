"""Collects the licences of everything a built bundle carries into ``<bundle>/licenses/``.

* Python distributions: every distribution of the build venv that owns a top-level module or
  folder the bundle holds (the spec writes them to ``bundled-top-level.txt``), with its licence
  and notice files as pip-licenses reports them (``THIRD_PARTY_LICENSES.txt``, ``SUMMARY.md``).
* System libraries PyInstaller copied from the build machine (libpython, libstdc++ ...): the
  Debian package that owns each one (``dpkg -S``) and its ``/usr/share/doc/<pkg>/copyright``.
* CPython's licence (libpython and its extension modules).
* Data and model attributions: resources/about/DATA_SOURCES.md, the READMEs of the bundled sample
  and self-test inputs, and every model card.

Run with the build venv's Python (packaging/build.sh does).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_TOOLS = {"pyinstaller", "pyinstaller-hooks-contrib", "altgraph", "pip", "setuptools",
               "pip-licenses", "prettytable", "wcwidth", "packaging", "wheel"}


def bundled_distributions(tops: set[str]) -> list[str]:
    """Names of the venv's distributions that own one of the bundle's top-level names."""
    names = set()
    for dist in distributions():
        name = dist.metadata["Name"]
        owned = {Path(str(f)).parts[0].removesuffix(".py") for f in dist.files or []}
        owned = {o.split(".cpython")[0] for o in owned}
        if name.lower() not in BUILD_TOOLS and owned & tops:
            names.add(name)
    return sorted(names, key=str.lower)


def pip_licenses(names: list[str], out: Path) -> None:
    common = [sys.executable, "-m", "piplicenses", "--packages", *names, "--with-urls"]
    text = subprocess.run([*common, "--with-license-file", "--with-notice-file", "--no-license-path",
                           "--format=plain-vertical"], check=True, capture_output=True, text=True).stdout
    (out / "THIRD_PARTY_LICENSES.txt").write_text(text, encoding="utf-8")
    table = subprocess.run([*common, "--format=markdown"], check=True, capture_output=True, text=True).stdout
    (out / "SUMMARY.md").write_text("# Python packages in this bundle\n\n" + table, encoding="utf-8")


LICENCE_NAMES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")


def licence_files(names: list[str], out: Path) -> int:
    """Every licence-like file each distribution ships (dist-info/licenses, LICENSE*, COPYING*...),
    copied to ``packages/<name>/``: pip-licenses finds only one per package, and none for some."""
    copied = 0
    for dist in distributions():
        name = dist.metadata["Name"]
        if name not in names:
            continue
        for file in dist.files or []:
            if Path(str(file)).name.upper().startswith(LICENCE_NAMES) and not str(file).endswith(".py"):
                target = out / "packages" / name / str(file).replace("/", "__")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(dist.locate_file(file), target)
                copied += 1
    return copied


COMMON_LICENSES = Path("/usr/share/common-licenses")
SPDX_TEXTS = {"LGPL-3.0": "LGPL-3", "LGPL-2.1": "LGPL-2.1", "GPL-2.0": "GPL-2", "GPL-3.0": "GPL-3",
              "Apache-2.0": "Apache-2.0", "MPL-2.0": "MPL-2.0"}


def standard_texts(names: list[str], out: Path) -> list[str]:
    """For a distribution that ships no licence file (PySide6, shiboken6): the standard texts its
    metadata names (License-Expression / License), from Debian's /usr/share/common-licenses."""
    filled = []
    for dist in distributions():
        name = dist.metadata["Name"]
        if name not in names or (out / "packages" / name).exists():
            continue
        declared = f"{dist.metadata.get('License-Expression') or ''} {dist.metadata.get('License') or ''}"
        texts = [text for spdx, text in SPDX_TEXTS.items() if spdx in declared]
        for text in texts:
            if (COMMON_LICENSES / text).is_file():
                target = out / "packages" / name / f"{text}.txt"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(COMMON_LICENSES / text, target)
        if texts:
            (out / "packages" / name / "README.txt").write_text(
                f"{name} declares '{declared.strip()}' but its wheel ships no licence file; the standard "
                "texts here come from Debian's /usr/share/common-licenses.\n", encoding="utf-8")
            filled.append(name)
    return filled


def python_licence(out: Path) -> Path:
    """CPython's own licence (libpython and its extension modules are in every bundle)."""
    source = Path(sys.base_prefix, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}",
                  "LICENSE.txt")
    target = out / "PYTHON-LICENSE.txt"
    shutil.copyfile(source, target)
    return target


def debian_package(path: str) -> str | None:
    for candidate in (path, str(Path(path).resolve())):
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.split(":")[0].strip()
    return None


def system_licences(libraries: list[str], out: Path) -> dict[str, str]:
    """library → Debian package; copies each package's copyright file."""
    owners: dict[str, str] = {}
    if not shutil.which("dpkg"):
        return owners
    target = out / "system"
    target.mkdir(exist_ok=True)
    for library in libraries:
        if library.startswith(sys.base_prefix):
            owners[Path(library).name] = "CPython (PSF licence: PYTHON-LICENSE.txt)"
            continue
        package = debian_package(library)
        owners[Path(library).name] = package or "unknown (not from a Debian package)"
        copyright_file = Path("/usr/share/doc", package or "-", "copyright")
        if package and copyright_file.is_file():
            shutil.copyfile(copyright_file, target / f"{package}.copyright")
    (target / "LIBRARIES.json").write_text(json.dumps(owners, indent=2) + "\n", encoding="utf-8")
    return owners


def attributions(out: Path) -> None:
    target = out / "attributions"
    target.mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "resources/about/DATA_SOURCES.md", target / "DATA_SOURCES.md")
    for readme, name in [("resources/sample/README.md", "sample-study.md"),
                         ("resources/selftest/README.md", "selftest-inputs.md")]:
        if (ROOT / readme).is_file():
            shutil.copyfile(ROOT / readme, target / name)
    for card in sorted((ROOT / "resources/models").glob("*/MODEL_CARD.md")):
        shutil.copyfile(card, target / f"MODEL_CARD-{card.parent.name}.md")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--flavour", choices=["cpu", "gpu"], default="cpu")
    args = parser.parse_args()
    work = ROOT / "build" / f"pyinstaller-{args.flavour}" / "radsight"
    tops = set((work / "bundled-top-level.txt").read_text().split())
    libraries = (work / "bundled-system-libraries.txt").read_text().split()
    out = args.bundle / "licenses"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    names = bundled_distributions(tops)
    pip_licenses(names, out)
    files = licence_files(names, out)
    standard_texts(names, out)
    python_licence(out)
    owners = system_licences(libraries, out)
    attributions(out)
    print(f"licences: {len(names)} Python distributions ({files} licence files), "
          f"{len(owners)} system libraries ({len(set(owners.values()))} packages), attributions -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
