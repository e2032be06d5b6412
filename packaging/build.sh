#!/usr/bin/env bash
# Builds the RadSight bundle and its release tarball, then runs the bundle's self-test.
#   packaging/build.sh          CPU flavour: plain onnxruntime (no CUDA providers)
#   packaging/build.sh --gpu    GPU flavour: onnxruntime-gpu + CUDA/cuDNN runtime wheels
#   --no-tar                    skip the tarball (bundle folder only)
# Each flavour builds in its own venv (build/venv-<flavour>, from packaging/requirements-<flavour>.txt),
# never in the shared .venv. Results:
#   build/dist-<flavour>/radsight/                      the one-folder bundle
#   dist/radsight-<version>[-gpu]-linux-x86_64.tar.gz  the release (symlinks kept) + dist/SHA256SUMS
# The target machine needs glibc >= the build machine's and Mesa or a GPU driver (libGL/libEGL are
# not bundled); see README "Install at a clinic".
set -euo pipefail
cd "$(dirname "$0")/.."
FLAVOUR=cpu TAR=1
for arg in "$@"; do
  case "$arg" in
    --gpu) FLAVOUR=gpu ;;
    --no-tar) TAR=0 ;;
    *) echo "usage: packaging/build.sh [--gpu] [--no-tar]" >&2; exit 2 ;;
  esac
done
VENV=build/venv-$FLAVOUR
REQS=packaging/requirements-$FLAVOUR.txt
DIST=build/dist-$FLAVOUR
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
SUFFIX=$([ "$FLAVOUR" = gpu ] && echo "-gpu" || true)
NAME=radsight-$VERSION$SUFFIX-linux-x86_64
started=$(date +%s)

if [ ! -f "$VENV/.installed" ] || [ "$REQS" -nt "$VENV/.installed" ]; then
  echo "build: installing $REQS into $VENV"
  [ -x "$VENV/bin/python" ] || "${PYTHON:-python3.11}" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q -r "$REQS"
  touch "$VENV/.installed"
fi

echo "build: PyInstaller ($FLAVOUR)"
PYTHONPATH=$PWD RADSIGHT_FLAVOUR=$FLAVOUR "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "build/pyinstaller-$FLAVOUR" packaging/radsight.spec
# Symbol tables out where that is safe (VTK, the JPEG codecs, libpython, lib-dynload): ~130 MB.
# Never the auditwheel-patched libraries (numpy, Pillow, *.libs/): strip corrupts them.
INTERNAL="$DIST/radsight/_internal"
find "$INTERNAL/vtkmodules" "$INTERNAL/python3.11/lib-dynload" -name '*.so*' -type f \
  -exec strip --strip-unneeded {} +
strip --strip-unneeded "$INTERNAL"/_libjpeg.*.so "$INTERNAL"/_CharLS.*.so "$INTERNAL"/_openjpeg.*.so \
  "$INTERNAL"/libpython3*.so*
"$VENV/bin/python" packaging/collect_licences.py --bundle "$DIST/radsight" --flavour "$FLAVOUR"
cp packaging/INSTALL.txt "$DIST/radsight/INSTALL.txt"
echo "build: bundle $(du -sh "$DIST/radsight" | cut -f1) on disk, built in $(( $(date +%s) - started )) s"

echo "build: self-test of the bundle"
"$DIST/radsight/radsight" selftest

if [ "$TAR" = 1 ]; then
  mkdir -p dist
  # the folder is renamed inside the archive (S: symlink targets untouched); symlinks stay symlinks
  tar -C "$DIST" --transform "s,^radsight,$NAME,S" -czf "dist/$NAME.tar.gz" radsight
  (cd dist && sha256sum radsight-*.tar.gz > SHA256SUMS)
  echo "build: dist/$NAME.tar.gz $(du -h "dist/$NAME.tar.gz" | cut -f1); dist/SHA256SUMS"
fi
echo "build: done in $(( $(date +%s) - started )) s"
