#!/usr/bin/env bash
# make pythons: CPython 3.14 and 3.15 for `make test-versions` on a Debian machine, where
# neither pyenv nor Debian 12 has them. They come from Debian sid's *binary* packages,
# unpacked into a cache outside the repo and run with sid's own C library (sid's binaries
# need a newer glibc than Debian 12 has): no compiler, about 25 MB, under a minute.
#
#   ${LAB_PY_CACHE:-~/.cache/concurrency-lab}/sid-pythons/usr/bin/python3.14, python3.15
#   ${LAB_PY_CACHE:-~/.cache/concurrency-lab}/bin/python3.14 -> the one above (what
#   tools/test_versions.py looks in)
#
# A cached interpreter that still runs is kept (sid moves daily; `make pythons-refresh`
# fetches whatever sid has now). Each network step is bounded by LAB_PY_TIMEOUT seconds
# (default 300). Anywhere else (not Debian, not root, no archive): a clear message, exit 1,
# and test_versions.py simply runs on the Pythons it finds.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/debian_apt.sh

CACHE="${LAB_PY_CACHE:-$HOME/.cache/concurrency-lab}"
ROOT_DIR="$CACHE/sid-pythons"
BIN_DIR="$CACHE/bin"
VERSIONS=(3.14 3.15)
LIMIT="${LAB_PY_TIMEOUT:-300}"
# What the interpreters load: their own packages and every library they link to.
PACKAGES=(libc6 libexpat1 libssl3t64 libffi8 libsqlite3-0 libzstd1 liblzma5 libbz2-1.0 zlib1g
          libreadline8t64 libncursesw6 libtinfo6 libuuid1 libdb5.3t64 libgcc-s1 libmpdec4
          python3-pip-whl python3-setuptools-whl)
for v in "${VERSIONS[@]}"; do
  PACKAGES+=("python$v-minimal" "libpython$v-minimal" "libpython$v-stdlib" "python$v" "python$v-venv")
done

works() {  # works VERSION: the cached interpreter starts and has what the lab needs
  local python="$ROOT_DIR/usr/bin/python$1"
  [ -x "$python" ] && timeout 60 "$python" -c \
    'import ssl, sqlite3, ctypes, lzma, bz2, zlib, venv, ensurepip, multiprocessing' 2>/dev/null
}

report() {
  for v in "${VERSIONS[@]}"; do
    echo "pythons: $BIN_DIR/python$v ($("$BIN_DIR/python$v" -c 'import sys; print(sys.version.split()[0])'))"
  done
}

if [ "${1:-}" != "--refresh" ]; then
  all=1
  for v in "${VERSIONS[@]}"; do works "$v" || all=0; done
  if [ "$all" = 1 ]; then report; exit 0; fi
fi

fail() {
  echo "pythons: $*" >&2
  echo "pythons: make test-versions runs on the Pythons it finds instead (pyenv, python3.1X on" >&2
  echo "PATH, or LAB_PYTHONS='/path/to/python3.15 ...')." >&2
  exit 1
}
can_use_apt || fail "fetching CPython ${VERSIONS[*]} needs Debian (apt-get, dpkg-deb) as root."
command -v patchelf >/dev/null || {
  echo "pythons: installing patchelf (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  timeout "$LIMIT" apt-get install -y -qq patchelf >/dev/null 2>&1 \
    || { timeout "$LIMIT" apt-get update -qq && timeout "$LIMIT" apt-get install -y -qq patchelf >/dev/null; } \
    || fail "could not install patchelf."
}

WORK_DIR=$(mktemp -d)
trap 'rm -rf "$WORK_DIR"' EXIT
echo "pythons: fetching CPython ${VERSIONS[*]} from Debian sid's binary packages into $ROOT_DIR"
private_apt "$WORK_DIR" deb sid || fail "no Debian archive in this machine's apt sources."
timeout "$LIMIT" apt-get "${APT_OPTS[@]}" update -qq \
  || fail "could not read Debian sid's package list (offline, or no answer in $LIMIT s)."
mkdir -p "$WORK_DIR/debs"
(cd "$WORK_DIR/debs" && timeout "$LIMIT" apt-get "${APT_OPTS[@]}" download "${PACKAGES[@]}" >/dev/null 2>&1) \
  || fail "could not download ${PACKAGES[*]} from sid (offline, or sid renamed one of them)."

NEW="$ROOT_DIR.new"
rm -rf "$NEW"
mkdir -p "$NEW"
for deb in "$WORK_DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$NEW"; done
# The folder's final name is written into the binaries, so unpack, patch, then move.
rm -rf "$ROOT_DIR.old"
[ -d "$ROOT_DIR" ] && mv "$ROOT_DIR" "$ROOT_DIR.old"
mv "$NEW" "$ROOT_DIR"
rm -rf "$ROOT_DIR.old"
loader=$(ls "$ROOT_DIR"/usr/lib/*/ld-linux*.so.* 2>/dev/null | head -n 1)
[ -n "$loader" ] || fail "sid's libc6 has no dynamic loader in usr/lib/<triplet>/."
libdir=$(dirname "$loader")
for v in "${VERSIONS[@]}"; do
  patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$libdir" "$ROOT_DIR/usr/bin/python$v"
  # Debian's ensurepip takes pip from WHEEL_PKG_DIR (/usr/share/python-wheels, which on this
  # machine holds Debian 12's older pip): point it at sid's pip wheel unpacked beside it.
  for f in "$ROOT_DIR"/usr/lib/python"$v"/_sysconfig*data*.py "$ROOT_DIR"/usr/lib/python"$v"/_sysconfig_vars*.json; do
    [ -f "$f" ] && sed -i "s#\([\"']\)/usr/share/python-wheels#\1$ROOT_DIR/usr/share/python-wheels#g" "$f"
  done
  # Machines that set PYTHONDONTWRITEBYTECODE would otherwise compile the stdlib at every start.
  "$ROOT_DIR/usr/bin/python$v" -m compileall -q -j0 "$ROOT_DIR/usr/lib/python$v" >/dev/null 2>&1 || true
  works "$v" || fail "python$v from sid does not start here."
  mkdir -p "$BIN_DIR"
  ln -sf "$ROOT_DIR/usr/bin/python$v" "$BIN_DIR/python$v"
done
report
