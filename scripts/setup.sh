#!/usr/bin/env bash
# Installs everything RadSight needs on a fresh Debian/Ubuntu machine: the Debian packages that
# headless Qt/VTK and the DICOM test peers need (only when run as root), a virtual environment
# in .venv, and the pinned Python packages. Safe to run again: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
STAMP=.venv/.radsight-installed

DEB_PACKAGES="xvfb xauth libgl1 libegl1 libglx-mesa0 libegl-mesa0 libgl1-mesa-dri libglib2.0-0
 libdbus-1-3 libfontconfig1 libfreetype6 fonts-dejavu-core libxkbcommon0 libx11-6 libx11-xcb1
 libxcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1
 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxcb-glx0 libxcursor1 libxext6 libxrender1
 dcmtk orthanc dicom3tools strace"

install_debian() {
  command -v apt-get >/dev/null || { echo "setup: no apt-get; install the Qt/GL libraries yourself" >&2; return; }
  if [ "$(id -u)" != 0 ]; then
    echo "setup: not root, skipping Debian packages (need: $DEB_PACKAGES)" >&2; return
  fi
  # shellcheck disable=SC2086
  if dpkg -s $DEB_PACKAGES >/dev/null 2>&1; then return; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $DEB_PACKAGES >/dev/null
  # the orthanc package may start its own service: tests start private instances instead
  if command -v service >/dev/null; then service orthanc stop >/dev/null 2>&1 || true; fi
}

install_python() {
  if [ -f "$STAMP" ] && [ "$STAMP" -nt requirements.lock ] && [ "$STAMP" -nt pyproject.toml ]; then return; fi
  PY=${PYTHON:-python3.11}
  command -v "$PY" >/dev/null || PY=python3
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  touch "$STAMP"
}

install_debian
install_python
