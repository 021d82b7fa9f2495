#!/usr/bin/env bash
# make free-threaded: find (or build) a free-threaded CPython, give it a venv with what the
# lab needs (.venv-ft), and register it as a Jupyter kernel in the project's .venv.
#
# Where the interpreter comes from, first match wins (newest first):
#   1. LAB_FT_PYTHON          (any free-threaded python: 3.13t, 3.14t, 3.15t, ...)
#   2. python3.15t, python3.14t, python3.13t on PATH
#   3. the cache of an earlier build: ${LAB_PY_CACHE:-~/.cache/concurrency-lab}/python3.13t
#   4. a new build of Debian trixie's python3.13 source package into that cache
#      (Debian/Ubuntu as root; kept for later runs)
#
# Notebook 07 measures what free-threading costs one thread against a GIL build of the SAME
# source and options, never against another patch release or another build. So a build here
# makes two, one after the other, from one unpacked source and the same configure options:
#   python3.13t     ./configure --prefix=... --disable-gil
#   python3.13-gil  ./configure --prefix=...                (the "twin")
# Each prefix holds a stamp (.lab-build: source tarball, its sha256, the shared options),
# written last, so a half-finished build is never taken for a good one. A cached 3.13t without
# its twin gets the twin alone, from the same source version (the tarball is kept in
# cache/sources); if that version can no longer be had, both are rebuilt from the new one.
# About 3 minutes per build on 2 cores; every step is bounded by a timeout.
#
# Sourced (`. tools/free_threaded.sh`), it only defines its functions: the tests drive them.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/debian_apt.sh"

CACHE="${LAB_PY_CACHE:-$HOME/.cache/concurrency-lab}"  # the lab's cache, shared with make pythons
MINOR=3.13
FT_PREFIX="$CACHE/python${MINOR}t"
GIL_PREFIX="$CACHE/python${MINOR}-gil"
SOURCES="$CACHE/sources"
COMMON_OPTS=()  # configure options both builds share (the lab's builds use the defaults)
STAMP_NAME=.lab-build
VENV=.venv-ft
KERNEL_NAME=python3-ft
WORK_DIR=""

say() { echo "free-threaded: $*"; }
warn() { echo "free-threaded: $*" >&2; }

is_free_threaded() {
  [ -n "$1" ] && [ -x "$1" ] && timeout 60 "$1" -c \
    'import sys, sysconfig; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else 1)' \
    2>/dev/null
}

is_gil_build() {
  [ -n "$1" ] && [ -x "$1" ] && timeout 60 "$1" -c \
    'import sys, sysconfig; sys.exit(1 if sysconfig.get_config_var("Py_GIL_DISABLED") else 0)' \
    2>/dev/null
}

find_interpreter() {
  local candidate
  for candidate in "${LAB_FT_PYTHON:-}" "$(command -v python3.15t || true)" \
                   "$(command -v python3.14t || true)" "$(command -v python3.13t || true)" \
                   "$FT_PREFIX/bin/python${MINOR}t"; do
    if is_free_threaded "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

# The kernel's name, from the interpreter: "Python 3.13t (free-threaded)". binder/postBuild
# names Binder's kernel with the same line (tests/test_binder_ft.py holds them together).
kernel_display_name() {
  timeout 60 "$1" -c 'import sys; print("Python %d.%dt (free-threaded)" % sys.version_info[:2])'
}

stamp_value() {  # stamp_value PREFIX KEY
  sed -n "s/^$2=//p" "$1/$STAMP_NAME" 2>/dev/null | head -n 1
}

# step NAME SECONDS DIR COMMAND...: run it in DIR with its output in a log, killed (with its
# children) after SECONDS; on failure say which step, why (timeout or exit code) and show the
# end of its log. STEP_TIMES collects "name N s" for the summary.
STEP_TIMES=""
step() {
  local name=$1 limit=$2 dir=$3 rc=0 started=$SECONDS
  shift 3
  (cd "$dir" && exec timeout "$limit" "$@") >"$WORK_DIR/$name.log" 2>&1 || rc=$?
  STEP_TIMES="$STEP_TIMES${STEP_TIMES:+, }$name $((SECONDS - started)) s"
  if [ "$rc" = 124 ]; then
    warn "'$name' did not finish within $limit s; gave up."
  elif [ "$rc" != 0 ]; then
    warn "'$name' failed (exit $rc). End of its log:"
    tail -n 15 "$WORK_DIR/$name.log" >&2
  fi
  return "$rc"
}

need_work_dir() {
  if [ -z "$WORK_DIR" ]; then
    WORK_DIR=$(mktemp -d)
    trap 'rm -rf "${WORK_DIR:-}"' EXIT
  fi
}

cannot_build() {  # cannot_build WHAT: explain why nothing can be built here
  warn "$1 needs Debian/Ubuntu (apt-get) as root, which this is not."
}

install_build_deps() {
  export DEBIAN_FRONTEND=noninteractive
  step apt-update 300 . apt-get update -qq || warn "going on with the package lists there are"
  step build-deps 900 . apt-get install -y -qq --no-install-recommends \
    build-essential pkg-config libssl-dev zlib1g-dev libbz2-dev libreadline-dev \
    libsqlite3-dev libffi-dev liblzma-dev libgdbm-dev libgdbm-compat-dev uuid-dev \
    libncurses-dev libexpat1-dev xz-utils
}

# fetch_source: Debian trixie's python3.13 upstream tarball into $SOURCES (kept, so a twin
# built later comes from the very same file). Prints the tarball's path.
fetch_source() {
  private_apt "$WORK_DIR/apt" deb-src "trixie trixie-updates" || return 1
  step source-list 300 . apt-get "${APT_OPTS[@]}" update -qq || return 1
  mkdir -p "$WORK_DIR/download" "$SOURCES"
  step source-download 600 "$WORK_DIR/download" \
    apt-get "${APT_OPTS[@]}" source --download-only "python$MINOR" || return 1
  local tarball
  tarball=$(ls "$WORK_DIR"/download/python${MINOR}_*.orig.tar.xz | head -n 1)
  cp "$tarball" "$WORK_DIR"/download/python${MINOR}_*.dsc "$SOURCES/" || return 1
  echo "$SOURCES/$(basename "$tarball")"
}

# build PREFIX TARBALL EXTRA_OPTION...: configure, make, install, trim; stamp written last.
build() {
  local prefix=$1 tarball=$2 started=$SECONDS src dir
  shift 2
  src="$WORK_DIR/src"
  if [ ! -d "$src" ]; then
    mkdir -p "$src"
    tar -xf "$tarball" -C "$src" --strip-components=1
  fi
  dir="$WORK_DIR/build-$(basename "$prefix")"  # out of tree: one source, two builds
  mkdir -p "$dir"
  rm -rf "$prefix"
  say "building $(basename "$prefix") from $(basename "$tarball"): configure --prefix=$prefix $* ${COMMON_OPTS[*]:-}"
  STEP_TIMES=""
  step configure 600 "$dir" "$src/configure" --prefix="$prefix" "$@" "${COMMON_OPTS[@]}" \
    && step make 1800 "$dir" make -j"$(nproc)" \
    && step install 600 "$dir" make install \
    || { rm -rf "$prefix"; return 1; }  # nothing half-built is left to be found
  # The test suite (~140 MB) and the static libraries (~150 MB) are not needed here.
  rm -rf "$prefix"/lib/python${MINOR}*/test "$prefix"/lib/python${MINOR}*/config-*/*.a \
         "$prefix"/lib/libpython${MINOR}*.a
  write_stamp "$prefix" "$tarball"
  say "built $(basename "$prefix") in $((SECONDS - started)) s ($STEP_TIMES; load average now $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'))"
}

write_stamp() {  # write_stamp PREFIX TARBALL [NOTE]
  {
    echo "source=$(basename "$2")"
    echo "sha256=$(sha256sum "$2" | cut -d' ' -f1)"
    echo "options=${COMMON_OPTS[*]:-}"
    [ -z "${3:-}" ] || echo "note=$3"
  } > "$1/$STAMP_NAME"
}

# The cached free-threaded build came from a tarball with this name (stamp), or — for a build
# made before stamps existed, whose configure line was ours — from the release it reports.
ft_source_name() {
  local name
  name=$(stamp_value "$FT_PREFIX" source)
  if [ -n "$name" ]; then echo "$name"; return 0; fi
  timeout 60 "$FT_PREFIX/bin/python${MINOR}t" - "$MINOR" "$FT_PREFIX" "${COMMON_OPTS[@]}" <<'EOF'
import shlex, sys, sysconfig
minor, prefix, common = sys.argv[1], sys.argv[2], sys.argv[3:]
args = shlex.split(sysconfig.get_config_var("CONFIG_ARGS") or "")
ours = sorted(["--disable-gil", f"--prefix={prefix}", *common])
sys.exit(1) if sorted(args) != ours else print(f"python{minor}_{sys.version.split()[0]}.orig.tar.xz")
EOF
}

twin_matches() {  # the GIL twin exists, works, and was built from the ft build's tarball
  local sha
  sha=$(stamp_value "$FT_PREFIX" sha256)
  [ -n "$sha" ] && is_gil_build "$GIL_PREFIX/bin/python$MINOR" \
    && [ "$(stamp_value "$GIL_PREFIX" sha256)" = "$sha" ] \
    && [ "$(stamp_value "$GIL_PREFIX" options)" = "$(stamp_value "$FT_PREFIX" options)" ]
}

build_both() {  # build_both TARBALL
  build "$FT_PREFIX" "$1" --disable-gil && is_free_threaded "$FT_PREFIX/bin/python${MINOR}t" \
    && build "$GIL_PREFIX" "$1" && is_gil_build "$GIL_PREFIX/bin/python$MINOR"
}

# ensure_twin: give the cached free-threaded build its GIL twin (same tarball, same options).
ensure_twin() {
  twin_matches && return 0
  if ! can_use_apt; then
    cannot_build "Building the GIL twin of $FT_PREFIX (for notebook 07's single-thread cost)"
    warn "notebook 07 will say so and not compare against a different build."
    return 0
  fi
  need_work_dir
  local name tarball
  name=$(ft_source_name) || name=""
  tarball="$SOURCES/$name"
  install_build_deps || return 1
  if [ -z "$name" ] || [ ! -f "$tarball" ]; then
    tarball=$(fetch_source) || return 1
  fi
  if [ -n "$name" ] && [ "$(basename "$tarball")" = "$name" ]; then
    [ -f "$FT_PREFIX/$STAMP_NAME" ] || write_stamp "$FT_PREFIX" "$tarball" \
      "stamped after the build: its release matches this tarball's (Debian keeps one file per name)"
    build "$GIL_PREFIX" "$tarball" && is_gil_build "$GIL_PREFIX/bin/python$MINOR"
  else
    say "the cached ${MINOR}t came from ${name:-an unknown source}; Debian now has $(basename "$tarball"): rebuilding both from it so they match"
    build_both "$tarball"
  fi
}

build_from_scratch() {
  if ! can_use_apt; then
    cannot_build "No free-threaded Python was found, and building one"
    warn "Install python3.14t (python.org installer's free-threaded option," \
         "'uv python install 3.14t', conda-forge python-freethreading) and set LAB_FT_PYTHON to it."
    exit 1
  fi
  need_work_dir
  say "building CPython $MINOR twice from one source, free-threaded and with the GIL, into $CACHE (about 3 minutes each)"
  install_build_deps || exit 1
  local tarball
  tarball=$(fetch_source) || exit 1
  build_both "$tarball" || exit 1
}

main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.free_threaded.lock"
  flock -w 3600 9 || { warn "another 'make free-threaded' held $CACHE for an hour; gave up."; exit 1; }

  FT=$(find_interpreter) || { build_from_scratch; FT="$FT_PREFIX/bin/python${MINOR}t"; }
  say "$FT ($("$FT" -c 'import sys; print(sys.version.split()[0])'))"
  if [ "$FT" = "$FT_PREFIX/bin/python${MINOR}t" ]; then
    ensure_twin || warn "no GIL twin: notebook 07 will say the single-thread cost was not measured."
  fi

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
      --display-name "$(kernel_display_name "$VENV/bin/python")" \
      >/dev/null 2>&1
    say "kernel '$KERNEL_NAME' registered in .venv"
  fi
  PYTHON_GIL=0 "$VENV/bin/python" -c \
    'import sys; assert not sys._is_gil_enabled(); print("free-threaded: GIL off in", sys.executable)'
  # What notebook 07 will compare it with, found the way the notebook finds it.
  if [ -x .venv/bin/python ]; then
    timeout 120 .venv/bin/python - "$FT" <<'EOF' || warn "could not look for its GIL twin"
import sys
from helpers.core.other_pythons import find_twin, probe
search = find_twin(probe(sys.argv[1]))
if search.twin:
    print(f"free-threaded: its GIL twin (same source and options): {search.twin.path}")
else:
    print("free-threaded: no GIL twin (same source and options) found, so notebook 07 will not "
          "measure the single-thread cost; " + "; ".join(
              f"{other.path}: {why}" for other, why in search.rejected))
EOF
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
