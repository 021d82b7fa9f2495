"""Other Pythons on this machine: where each search looks (one list of candidates for what is
wanted), what a probe says, which GIL build is a free-threaded build's twin — with fake
interpreters — and which builds ``tools/free_threaded.sh`` makes, its slow steps stubbed.

(Finding a Python 3.14+ for subinterpreters: test_subinterpreters.py.)
"""
import os
import sys

import pytest

from helpers.core import other_pythons as op


def test_this_interpreter_is_probed_correctly():
    here = op.probe(sys.executable)
    assert here is not None and here.version == sys.version.split()[0]
    assert op.probe("/no/such/python") is None and op.probe(None) is None


def test_a_normal_python_is_never_taken_for_a_free_threaded_one(monkeypatch):
    monkeypatch.setattr(op, "candidates", lambda wanted: [sys.executable])
    expected = op.probe(sys.executable).free_threaded
    assert (op.find_free_threaded() is not None) == expected
    monkeypatch.setattr(op, "candidates", lambda wanted: [])
    assert op.find_free_threaded() is None
    assert "make free-threaded" in op.HOW_TO_GET_FREE_THREADED
    assert "LAB_FT_PYTHON" in op.HOW_TO_GET_FREE_THREADED


def test_lab_ft_python_comes_first(monkeypatch):
    monkeypatch.setenv(op.FT_ENV, "/opt/somewhere/python3.14t")
    assert op.candidates(op.FREE_THREADED)[0] == "/opt/somewhere/python3.14t"


def test_wanted_is_exactly_one_thing_and_a_version_in_range():
    free = op.Interpreter("/ft", "3.13.5", True)
    assert op.gil_twin(free) == op.Wanted(op.GIL_ENV, twin_of=free)
    with pytest.raises(ValueError, match="exactly one"):
        op.Wanted("X", free_threaded=True, at_least=(3, 14))
    with pytest.raises(ValueError, match="exactly one"):
        op.Wanted("X")
    for bad in ((3, 9), (3, 20), (4, 14), (3,), 3.14, (3, 14.0)):
        with pytest.raises(ValueError, match="at_least"):
            op.Wanted("X", at_least=bad)


def test_one_cache_for_every_search(tmp_path):
    """$LAB_PY_CACHE: make free-threaded's builds and make pythons' 3.14+ live side by side."""
    cache, home = tmp_path / "cache", tmp_path / "home"
    for path in ("python3.13t/bin/python3.13t", "python3.13-gil/bin/python3.13",
                 "bin/python3.14"):
        (cache / path).parent.mkdir(parents=True, exist_ok=True)
        (cache / path).touch()
    env = {op.CACHE_ENV: str(cache), "PATH": str(tmp_path / "nowhere")}
    assert op.cache_dir(env, home) == cache
    assert op.cache_dir({}, home) == home / ".cache" / "concurrency-lab"
    free = op.Interpreter(str(cache / "python3.13t/bin/python3.13t"), "3.13.5", True,
                          base_prefix=str(cache / "python3.13t"))
    assert str(cache / "python3.13t/bin/python3.13t") in op.candidates(op.FREE_THREADED, env,
                                                                       home)
    assert op.candidates(op.gil_twin(free), env, home)[0] == str(
        cache / "python3.13-gil/bin/python3.13")
    assert op.candidates(op.Wanted("X", at_least=(3, 14)), env, home) == [
        str(cache / "bin/python3.14")]
    assert op.candidates(op.Wanted("X", at_least=(3, 15)), env, home) == []


# --- the GIL twin: same release, same compiler, same build options -----------------------

def build(path, version="3.13.5", free=False, args=None, compiler="GCC 12.2.0", prefix=None):
    """A fake probe result for a file at ``path`` (created, so it has an inode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    prefix = str(prefix or path.parent.parent)
    if args is None:
        args = f"'--prefix={prefix}'" + (" '--disable-gil'" if free else "")
    return op.Interpreter(str(path), version, free, args, compiler, prefix, str(path))


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """Fake interpreters on disk: ``add(build)`` makes one a candidate, found by a fake probe."""
    found = {}

    def add(interpreter):
        found[interpreter.path] = interpreter
        return interpreter

    monkeypatch.setattr(op, "probe", lambda path: found.get(str(path)))
    monkeypatch.setattr(op, "candidates", lambda wanted: list(found))
    return tmp_path, add


def test_the_gil_build_of_the_same_source_and_options_is_the_twin(machine):
    tmp, add = machine
    free = build(tmp / "cache/python3.13t/bin/python3.13t", free=True)
    add(build(tmp / "pyenv/3.13.0/bin/python3.13", "3.13.0"))
    add(build(tmp / "cache/python3.13t/bin/python3.13t", free=True))  # itself: skipped
    add(build(tmp / "other/bin/python3.13", "3.13.5", free=True))  # free-threaded: skipped
    add(build(tmp / "py312/bin/python3.12", "3.12.1"))  # another minor: not listed
    twin = add(build(tmp / "cache/python3.13-gil/bin/python3.13"))
    search = op.find_twin(free)
    assert search.twin == twin
    assert [(i.version, why) for i, why in search.rejected] == [
        ("3.13.0", "a different release (3.13.0, not 3.13.5)")]


def test_a_same_release_with_other_options_or_compiler_is_no_twin(machine):
    tmp, add = machine
    free = build(tmp / "ft/bin/python3.13t", free=True)
    add(build(tmp / "pyenv/bin/python3.13", args="'--prefix={p}' '--enable-shared' "
                                               "'LDFLAGS=-Wl,-rpath,{p}/lib'".format(
                                                   p=tmp / "pyenv")))
    add(build(tmp / "clang/bin/python3.13", compiler="Clang 18.1.3"))
    add(build(tmp / "pgo/bin/python3.13", args=f"'--prefix={tmp / 'pgo'}' "
                                                "'--enable-optimizations' '--with-lto'"))
    search = op.find_twin(free)
    assert search.twin is None
    whys = [why for _, why in search.rejected]
    assert whys[0] == ("other build options: built with `--enable-shared "
                       "LDFLAGS=-Wl,-rpath,<prefix>/lib`")
    assert whys[1] == "another compiler (Clang 18.1.3, not GCC 12.2.0)"
    assert "--enable-optimizations --with-lto" in whys[2]
    text = search.explain()
    assert text.startswith("**Not measured:**") and "none is its twin" in text
    assert f"`{tmp / 'clang/bin/python3.13'}`: another compiler" in text
    assert "make free-threaded" in text and op.GIL_ENV in text
    assert "uv python install 3.13.5" in text


def test_two_lab_builds_must_come_from_the_same_source_tarball(machine):
    tmp, add = machine
    free = build(tmp / "cache/python3.13t/bin/python3.13t", free=True)
    twin = add(build(tmp / "cache/python3.13-gil/bin/python3.13"))
    (tmp / "cache/python3.13t/.lab-build").write_text("source=a\nsha256=aaa\noptions=\n")
    (tmp / "cache/python3.13-gil/.lab-build").write_text("source=a\nsha256=bbb\noptions=\n")
    assert "another source tarball" in op.why_not_twin(free, twin)
    (tmp / "cache/python3.13-gil/.lab-build").write_text("source=a\nsha256=aaa\noptions=\n")
    assert op.find_twin(free).twin == twin


def test_nothing_found_is_said_plainly(machine):
    tmp, add = machine
    free = build(tmp / "ft/bin/python3.14t", "3.14.0", free=True)
    text = op.find_twin(free).explain()
    assert "No GIL build of Python 3.14 was found at all." in text and "ranged" not in text


def test_build_options_ignore_only_the_install_folder_and_the_gil():
    uv = op.Interpreter("/u/bin/python3.14t", "3.14.0", True,
                        "'--prefix=/install' '--disable-gil' '--with-lto' "
                        "'CFLAGS=-I/install/include'", "GCC 14", "/home/me/uv/ft")
    gil = op.Interpreter("/v/bin/python3.14", "3.14.0", False,
                         "'--with-lto' 'CFLAGS=-I/install/include' '--prefix=/install'",
                         "GCC 14", "/home/me/uv/gil")
    assert op.build_options(uv) == op.build_options(gil) == (
        "--prefix=<prefix>", "--with-lto", "CFLAGS=-I<prefix>/include")
    assert op.why_not_twin(uv, gil) is None
    assert op.why_not_twin(uv, uv) == "it is free-threaded too"


def test_without_recorded_options_only_an_install_together_counts():
    """Windows records no CONFIG_ARGS: python.exe beside python3.13t.exe is one install."""
    free = op.Interpreter("C:/Py/python3.13t.exe", "3.13.5", True, None, "MSC v.1942", "C:/Py")
    beside = op.Interpreter("C:/Py/python.exe", "3.13.5", False, None, "MSC v.1942", "C:/Py")
    elsewhere = op.Interpreter("C:/Other/python.exe", "3.13.5", False, None, "MSC v.1942",
                               "C:/Other")
    assert op.why_not_twin(free, beside) is None
    assert "not installed together" in op.why_not_twin(free, elsewhere)


def test_twin_candidates_start_with_the_override_and_the_cache_and_look_beside(
        tmp_path, monkeypatch):
    monkeypatch.setenv(op.GIL_ENV, "/opt/gil/python3.14")
    monkeypatch.setenv(op.CACHE_ENV, str(tmp_path / "cache"))
    uv = tmp_path / "uv"
    for name, exe in (("cpython-3.14.0+freethreaded-linux", "python3.14t"),
                      ("cpython-3.14.0-linux", "python3.14")):
        (uv / name / "bin").mkdir(parents=True)
        (uv / name / "bin" / exe).touch()
    free = op.Interpreter(str(uv / "cpython-3.14.0+freethreaded-linux/bin/python3.14t"),
                          "3.14.0", True, base_prefix=str(uv / "cpython-3.14.0+freethreaded-linux"))
    paths = op.candidates(op.gil_twin(free))
    assert paths[:2] == ["/opt/gil/python3.14",
                         str(tmp_path / "cache/python3.14-gil/bin/python3.14")]
    assert str(uv / "cpython-3.14.0-linux/bin/python3.14") in paths


def test_the_newest_free_threaded_build_in_the_cache_comes_first(tmp_path, monkeypatch):
    monkeypatch.setenv(op.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv(op.FT_ENV, raising=False)
    for minor in ("3.13", "3.14", "3.9"):
        (tmp_path / f"python{minor}t/bin").mkdir(parents=True)
        (tmp_path / f"python{minor}t/bin/python{minor}t").touch()
    cached = [p for p in op.candidates(op.FREE_THREADED) if p.startswith(str(tmp_path))]
    assert [p.rsplit("/", 1)[1] for p in cached] == ["python3.14t", "python3.13t",
                                                      "python3.9t"]


# --- tools/free_threaded.sh: which builds it makes, with the slow steps stubbed ------------

SCRIPT = op.ROOT / "tools" / "free_threaded.sh"
STUBS = r"""
. "$SCRIPT"
CACHE=$1 FT_PREFIX=$1/python3.13t GIL_PREFIX=$1/python3.13-gil SOURCES=$1/sources
can_use_apt() { [ "$APT" = yes ]; }
install_build_deps() { :; }
fetch_source() { echo "fetch" >&2; mkdir -p "$SOURCES"; echo "$DEBIAN_NOW" > "$SOURCES/$DEBIAN_NOW"
                 echo "$SOURCES/$DEBIAN_NOW"; }
build() {  # a fake interpreter that reports whether it is free-threaded
  echo "build $(basename "$1") from $(basename "$2") ${3:-}" >&2
  mkdir -p "$1/bin"; write_stamp "$1" "$2"; echo "${3:-gil}" > "$1/kind"
}
is_free_threaded() { [ "$(cat "$(dirname "$(dirname "$1")")/kind" 2>/dev/null)" = --disable-gil ]; }
is_gil_build() { [ "$(cat "$(dirname "$(dirname "$1")")/kind" 2>/dev/null)" = gil ]; }
ensure_twin
"""


def run_script_logic(cache, apt="yes", debian_now="python3.13_3.13.5.orig.tar.xz"):
    """ensure_twin() with a fake cache; returns what it said on stderr (its 'build …' lines)."""
    import subprocess

    done = subprocess.run(["bash", "-c", STUBS, "stubs", str(cache)], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "SCRIPT": str(SCRIPT), "APT": apt,
                               "DEBIAN_NOW": debian_now})
    assert done.returncode == 0, done.stderr
    return done.stderr


def stamped_free_build(cache, release="3.13.5"):
    tarball = cache / "sources" / f"python3.13_{release}.orig.tar.xz"
    tarball.parent.mkdir(parents=True)
    tarball.write_text(tarball.name + "\n")
    prefix = cache / "python3.13t"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "kind").write_text("--disable-gil\n")
    import hashlib
    sha = hashlib.sha256(tarball.read_bytes()).hexdigest()
    (prefix / ".lab-build").write_text(f"source={tarball.name}\nsha256={sha}\noptions=\n")


def test_the_script_builds_the_twin_alone_from_the_same_kept_source(tmp_path):
    stamped_free_build(tmp_path)
    said = run_script_logic(tmp_path, debian_now="python3.13_3.13.9.orig.tar.xz")
    assert said.splitlines() == ["build python3.13-gil from python3.13_3.13.5.orig.tar.xz "]
    assert (tmp_path / "python3.13-gil/.lab-build").read_text() == (
        tmp_path / "python3.13t/.lab-build").read_text()
    assert run_script_logic(tmp_path) == ""  # a matching twin: nothing to do


def test_the_script_rebuilds_both_when_the_source_cannot_be_had_again(tmp_path):
    stamped_free_build(tmp_path)
    (tmp_path / "sources/python3.13_3.13.5.orig.tar.xz").unlink()
    said = run_script_logic(tmp_path, debian_now="python3.13_3.13.9.orig.tar.xz")
    assert said.splitlines()[0] == "fetch"
    assert [line for line in said.splitlines() if line.startswith("build")] == [
        "build python3.13t from python3.13_3.13.9.orig.tar.xz --disable-gil",
        "build python3.13-gil from python3.13_3.13.9.orig.tar.xz "]


def test_the_script_explains_when_it_cannot_build_the_twin(tmp_path):
    stamped_free_build(tmp_path)
    said = run_script_logic(tmp_path, apt="no")
    assert "needs Debian/Ubuntu (apt-get) as root" in said
    assert not [line for line in said.splitlines() if line.startswith(("build", "fetch"))]
    assert not (tmp_path / "python3.13-gil").exists()


def test_a_child_measurement_brings_its_load_back():
    from helpers.core.noise import MachineLoad

    data = {"workload": "count", "executor": "serial", "workers": 1, "tasks": 1, "size": 1,
            "start_method": None, "walls": [1.0], "cpus": [1.0], "records": [],
            "results": [1], "load": {"others": 1.2, "allowed": 2}}
    assert op.run_from_json(data).load == MachineLoad(1.2, 2)
    parent = MachineLoad(0.4, 2)
    assert op.run_from_json({**data, "load": None}, parent).load == parent
    assert "load" in data and "records" in data  # the caller's dict is left alone


def test_run_cli_sees_the_machine_from_here():
    from helpers.core.noise import MachineLoad

    here = op.probe(sys.executable)
    data = op.run_cli(here, ["compare", "count", "2000000", "--tasks", "1", "--workers", "1",
                             "--executors", "serial", "--repeats", "1"])
    load = data["load"]  # None where psutil is missing or the child was too quick
    assert load is None or isinstance(load, MachineLoad)
    run = op.run_from_json(data["runs"]["serial"], load)
    assert run.load is None or isinstance(run.load, MachineLoad)  # never the JSON's dict
