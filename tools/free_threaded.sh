#!/usr/bin/env bash
# make free-threaded: find (or build) a free-threaded CPython, give it a venv with what the
# lab needs (.venv-ft), and register it as a Jupyter kernel in the project's .venv.
#
# Where the interpreter comes from, first match wins:
#   1. LAB_FT_PYTHON          (any free-threaded python: 3.13t, 3.14t, ...)
#   2. python3.14t / python3.13t on PATH
#   3. the cache of an earlier build: ${LAB_FT_CACHE:-~/.cache/concurrency-lab}/python3.13t
#   4. a new build of Debian trixie's python3.13 source package with --disable-gil into that
#      cache (Debian/Ubuntu as root: ~3-5 minutes on 2 cores; kept for later runs)
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/debian_apt.sh

CACHE="${LAB_FT_CACHE:-$HOME/.cache/concurrency-lab}"
PREFIX="$CACHE/python3.13t"
VENV=.venv-ft
KERNEL_NAME=python3-ft
WORK_DIR=""

is_free_threaded() {
  [ -n "$1" ] && [ -x "$1" ] && "$1" -c \
    'import sys, sysconfig; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else 1)' \
    2>/dev/null
}

find_interpreter() {
  local candidate
  for candidate in "${LAB_FT_PYTHON:-}" "$(command -v python3.14t || true)" \
                   "$(command -v python3.13t || true)" "$PREFIX/bin/python3.13t"; do
    if is_free_threaded "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

build_interpreter() {
  if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "free-threaded: none found, and building one needs Debian/Ubuntu as root." >&2
    echo "Install python3.13t/3.14t (python.org installer, 'uv python install 3.14t'," >&2
    echo "conda-forge python-freethreading) and set LAB_FT_PYTHON to it." >&2
    exit 1
  fi
  local work
  work=$(mktemp -d)
  WORK_DIR=$work
  trap 'rm -rf "${WORK_DIR:-}"' EXIT
  echo "free-threaded: building CPython 3.13 with --disable-gil into $PREFIX (a few minutes)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends build-essential pkg-config libssl-dev \
    zlib1g-dev libbz2-dev libreadline-dev libsqlite3-dev libffi-dev liblzma-dev libgdbm-dev \
    libgdbm-compat-dev uuid-dev libncurses-dev libexpat1-dev xz-utils >/dev/null
  private_apt "$work" deb-src "trixie trixie-updates" || exit 1
  apt-get "${APT_OPTS[@]}" update -qq
  (cd "$work" && apt-get "${APT_OPTS[@]}" source --download-only python3.13 >/dev/null)
  tar -xf "$work"/python3.13_*.orig.tar.xz -C "$work"
  local src
  src=$(find "$work" -maxdepth 1 -type d -name 'Python-3.13*' | head -n 1)
  (cd "$src" && ./configure --disable-gil --prefix="$PREFIX" >/dev/null \
     && make -j"$(nproc)" >/dev/null && make install >/dev/null)
  rm -rf "$PREFIX"/lib/python3.13t/test "$PREFIX"/lib/python3.13t/config-3.13t-*/*.a \
         "$PREFIX"/lib/libpython3.13t.a
  is_free_threaded "$PREFIX/bin/python3.13t"
}

FT=$(find_interpreter) || { build_interpreter; FT="$PREFIX/bin/python3.13t"; }
echo "free-threaded: $FT ($("$FT" -c 'import sys; print(sys.version.split()[0])'))"

STAMP="$VENV/.installed"
if [ ! -f "$STAMP" ] || [ requirements-ft.txt -nt "$STAMP" ] \
   || [ "$(cat "$STAMP")" != "$FT" ]; then
  rm -rf "$VENV"
  "$FT" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # --prefer-binary: take releases with free-threaded (cp313t) wheels instead of building
  "$VENV/bin/python" -m pip install --quiet --prefer-binary -r requirements-ft.txt
  "$VENV/bin/python" -m pip install --quiet --no-deps -e .
  echo "$FT" > "$STAMP"
fi

if [ -x .venv/bin/python ]; then
  "$VENV/bin/python" -m ipykernel install --prefix "$PWD/.venv" --name "$KERNEL_NAME" \
    --display-name "Python $("$FT" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')t (free-threaded)" \
    >/dev/null 2>&1
  echo "free-threaded: kernel '$KERNEL_NAME' registered in .venv"
fi
PYTHON_GIL=0 "$VENV/bin/python" -c \
  'import sys; assert not sys._is_gil_enabled(); print("free-threaded: GIL off in", sys.executable)'
