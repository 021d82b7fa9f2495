"""Free-threaded Python, measured from this interpreter: found or explained, GIL off really
parallel (CPU-utilisation ratios, not times), races real without the GIL.

The measured tests need a free-threaded interpreter (``make free-threaded``). They skip
without one on a learner's machine; under ``CI=true`` they must run.
"""
import os
import sys

import pytest
from conftest import best_of

from helpers.core.experiments import Comparison
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.system import effective_cpu_count
from helpers.free_threading import gil_off as ft
from helpers.shared_state.races import Race

FOUND = ft.find_free_threaded()


@pytest.fixture
def free_threaded():
    if FOUND is None:
        message = "no free-threaded Python: run `make free-threaded` (or set LAB_FT_PYTHON)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true the free-threaded path must run")
        pytest.skip(message)
    return FOUND


def test_this_interpreter_is_probed_correctly():
    here = ft.probe(sys.executable)
    assert here is not None and here.version == sys.version.split()[0]
    assert ft.probe("/no/such/python") is None and ft.probe(None) is None


def test_a_normal_python_is_never_taken_for_a_free_threaded_one(monkeypatch):
    monkeypatch.setattr(ft, "candidates", lambda: [sys.executable])
    expected = ft.probe(sys.executable).free_threaded
    assert (ft.find_free_threaded() is not None) == expected
    monkeypatch.setattr(ft, "candidates", lambda: [])
    assert ft.find_free_threaded() is None
    assert "make free-threaded" in ft.HOW_TO_GET_ONE and "LAB_FT_PYTHON" in ft.HOW_TO_GET_ONE


def test_bad_input_names_the_parameter():
    here = ft.probe(sys.executable)
    with pytest.raises(ValueError, match="module"):
        ft.gil_after_import(here, "os; import shutil")
    with pytest.raises(ValueError, match="workers"):
        ft.measure_threads(here, None, workers=0)
    with pytest.raises(ValueError, match="increment"):
        ft.race_in(here, None, "teleport")


def test_lab_ft_python_comes_first(monkeypatch):
    monkeypatch.setenv(ft.FT_ENV, "/opt/somewhere/python3.14t")
    assert ft.candidates()[0] == "/opt/somewhere/python3.14t"


def test_the_measurement_module_runs_in_a_bare_interpreter():
    here = ft.probe(sys.executable)
    comparison = ft.measure_threads(here, None, size=20_000, repeats=1)
    assert list(comparison.runs) == ["serial", "threads"]
    assert comparison.runs["threads"].results == [20_000, 20_000]
    assert all(isinstance(r, TaskRecord) for r in comparison.runs["threads"].records)
    assert ft.race_in(here, None, "read, pause, write + lock", threads=2, times=50).lost == 0


def test_gil_off_runs_threads_in_parallel_and_gil_on_does_not(free_threaded):
    runs = []

    def gil_off_utilisation() -> float:
        runs.append(ft.measure_threads(free_threaded, gil=False, size=3_000_000, repeats=2))
        return runs[-1].runs["threads"].utilisation

    busy = best_of(gil_off_utilisation, enough=1.5)
    off = runs[-1]
    on = ft.measure_threads(free_threaded, gil=True, size=3_000_000, repeats=2)
    if effective_cpu_count() >= 2:
        assert busy > 1.5
    assert on.runs["threads"].utilisation < 1.3
    assert off.runs["threads"].results == on.runs["threads"].results == [3_000_000] * 2


def test_plain_add_loses_updates_without_the_gil(free_threaded):
    if effective_cpu_count() < 2:
        pytest.skip("threads cannot overlap on one CPU")
    off = ft.race_in(free_threaded, gil=False, threads=4, times=200_000)
    on = ft.race_in(free_threaded, gil=True, threads=4, times=200_000)
    assert off.lost > 0 and on.lost == 0
    assert "Free-threading makes threads parallel" in ft.describe_races_by_gil(off, on, "3.13t")


def test_an_extension_without_support_switches_the_gil_on(free_threaded):
    text = ft.gil_after_import(free_threaded)
    assert "switched the GIL **on**" in text or "is not installed" in text
    assert "left the GIL off" in ft.gil_after_import(free_threaded, "json")


def fake(wall_serial, wall_threads, cpu_threads, cpus=2):
    def run(executor, wall, cpu, workers):
        records = [TaskRecord(i, 1, i, 0.0, wall, cpu / 2) for i in range(2)]
        return RunResult("count", executor, workers, 2, 1, None, [wall], [cpu], records, [1, 1])
    return Comparison({"serial": run("serial", wall_serial, wall_serial, 1),
                       "threads": run("threads", wall_threads, cpu_threads, 2)}, cpus)


def test_words_follow_the_measurements():
    text = ft.describe_gil_modes({"kernel": fake(1.0, 1.0, 1.0),
                                  "3.13t, PYTHON_GIL=0": fake(1.0, 0.52, 1.0)}).text
    assert "**3.13t, PYTHON_GIL=0**: 2 threads were 1.9× faster than serial" in text
    assert "Only with the GIL off" in text
    assert "1 effective CPU" in ft.describe_gil_modes({"k": fake(1, 1, 1, cpus=1)}).text
    lost = ft.describe_races_by_gil(Race("plain +=", 4, 10, 31, 0.1),
                                    Race("plain +=", 4, 10, 40, 0.1), "3.13t")
    assert "lost **9** of 40" in lost and "lost nothing of 40" in lost


def test_speeds_up_self_check():
    right = {name: answer[:2] for name, answer in ft.SPEEDS_UP.items()}
    assert ft.check_speeds_up(right)
    assert not ft.check_speeds_up({**right, "count": (True, True)})
    assert not ft.check_speeds_up({**right, "sleep": (..., ...)})
    assert not ft.check_speeds_up({"count": (False, True)})
    assert not ft.check_speeds_up(None)


def test_a_speedup_with_one_cpu_busy_is_called_noise():
    text = ft.describe_gil_modes({"kernel": fake(1.0, 0.7, 0.7),
                                  f"t, {ft.GIL_OFF}": fake(1.0, 0.52, 1.9),
                                  f"t, {ft.GIL_ON}": fake(1.0, 1.0, 1.0)}).text
    assert "1.4× faster than serial, 1.0 CPUs busy. With about one CPU busy" in text
    assert "Only with the GIL off" in text


def test_this_kernel_is_measured_the_same_way():
    here = ft.measure_threads(None, None, size=20_000, repeats=1)
    assert here.runs["threads"].results == [20_000, 20_000]
    assert ft.work_size("count") == min(12_000_000, 3 * 1_000_000)  # quick mode in tests


def test_conclusions_follow_which_settings_were_faster():
    kernel = fake(1.0, 1.0, 1.0)
    off, on_fast = fake(1.0, 0.52, 1.9), fake(1.0, 0.55, 1.8)
    assert "releases the GIL" in ft.describe_gil_modes(
        {"k": on_fast, f"t, {ft.GIL_OFF}": off, f"t, {ft.GIL_ON}": on_fast}).text
    assert "did not beat serial" in ft.describe_gil_modes(
        {"k": kernel, f"t, {ft.GIL_OFF}": kernel, f"t, {ft.GIL_ON}": kernel}).text
    assert "took turns: the GIL" in ft.describe_gil_modes({"k": kernel}).text


def test_gil_lab_runs_headless_with_and_without_a_free_threaded_python():
    lab = ft.GilLab(None, "hash")
    lab.threads.value = 2
    lab.run_button.click()
    assert lab.error is None and list(lab.results) == [ft.this_python()]
    assert lab.figure is not None and "Only this kernel was measured" in lab.words.value
    assert not lab.threads.continuous_update and lab.scale.max == 4
    if FOUND is not None:
        lab = ft.GilLab(FOUND, "count")
        lab.run_button.click()
        assert lab.error is None and len(lab.results) == 3
    with pytest.raises(ValueError, match="workload"):
        ft.GilLab(None, "numpy")


# --- the GIL twin: same release, same compiler, same build options -----------------------

FREE_ARGS = "'--disable-gil' '--prefix={}'"


def build(path, version="3.13.5", free=False, args=None, compiler="GCC 12.2.0", prefix=None):
    """A fake probe result for a file at ``path`` (created, so it has an inode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    prefix = str(prefix or path.parent.parent)
    if args is None:
        args = f"'--prefix={prefix}'" + (" '--disable-gil'" if free else "")
    return ft.Interpreter(str(path), version, free, args, compiler, prefix, str(path))


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """Fake interpreters on disk: ``add(build)`` makes one a candidate, found by a fake probe."""
    found = {}

    def add(interpreter):
        found[interpreter.path] = interpreter
        return interpreter

    monkeypatch.setattr(ft, "probe", lambda path: found.get(str(path)))
    monkeypatch.setattr(ft, "twin_candidates", lambda free: list(found))
    return tmp_path, add


def test_the_gil_build_of_the_same_source_and_options_is_the_twin(machine):
    tmp, add = machine
    free = build(tmp / "cache/python3.13t/bin/python3.13t", free=True)
    add(build(tmp / "pyenv/3.13.0/bin/python3.13", "3.13.0"))
    add(build(tmp / "cache/python3.13t/bin/python3.13t", free=True))  # itself: skipped
    add(build(tmp / "other/bin/python3.13", "3.13.5", free=True))  # free-threaded: skipped
    add(build(tmp / "py312/bin/python3.12", "3.12.1"))  # another minor: not listed
    twin = add(build(tmp / "cache/python3.13-gil/bin/python3.13"))
    search = ft.find_twin(free)
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
    search = ft.find_twin(free)
    assert search.twin is None
    whys = [why for _, why in search.rejected]
    assert whys[0] == ("other build options: built with `--enable-shared "
                       "LDFLAGS=-Wl,-rpath,<prefix>/lib`")
    assert whys[1] == "another compiler (Clang 18.1.3, not GCC 12.2.0)"
    assert "--enable-optimizations --with-lto" in whys[2]
    text = ft.describe_single_thread_cost(search, None)
    assert text.startswith("**Not measured:**") and "none is its twin" in text
    assert f"`{tmp / 'clang/bin/python3.13'}`: another compiler" in text
    assert "make free-threaded" in text and ft.GIL_ENV in text
    assert "uv python install 3.13.5" in text


def test_two_lab_builds_must_come_from_the_same_source_tarball(machine):
    tmp, add = machine
    free = build(tmp / "cache/python3.13t/bin/python3.13t", free=True)
    twin = add(build(tmp / "cache/python3.13-gil/bin/python3.13"))
    (tmp / "cache/python3.13t/.lab-build").write_text("source=a\nsha256=aaa\noptions=\n")
    (tmp / "cache/python3.13-gil/.lab-build").write_text("source=a\nsha256=bbb\noptions=\n")
    assert "another source tarball" in ft.why_not_twin(free, twin)
    (tmp / "cache/python3.13-gil/.lab-build").write_text("source=a\nsha256=aaa\noptions=\n")
    assert ft.find_twin(free).twin == twin


def test_nothing_found_is_said_plainly(machine):
    tmp, add = machine
    free = build(tmp / "ft/bin/python3.14t", "3.14.0", free=True)
    text = ft.describe_single_thread_cost(ft.find_twin(free), None)
    assert "No GIL build of Python 3.14 was found at all." in text and "ranged" not in text


def test_build_options_ignore_only_the_install_folder_and_the_gil():
    uv = ft.Interpreter("/u/bin/python3.14t", "3.14.0", True,
                        "'--prefix=/install' '--disable-gil' '--with-lto' "
                        "'CFLAGS=-I/install/include'", "GCC 14", "/home/me/uv/ft")
    gil = ft.Interpreter("/v/bin/python3.14", "3.14.0", False,
                         "'--with-lto' 'CFLAGS=-I/install/include' '--prefix=/install'",
                         "GCC 14", "/home/me/uv/gil")
    assert ft.build_options(uv) == ft.build_options(gil) == (
        "--prefix=<prefix>", "--with-lto", "CFLAGS=-I<prefix>/include")
    assert ft.why_not_twin(uv, gil) is None
    assert ft.why_not_twin(uv, uv) == "it is free-threaded too"


def test_without_recorded_options_only_an_install_together_counts():
    """Windows records no CONFIG_ARGS: python.exe beside python3.13t.exe is one install."""
    free = ft.Interpreter("C:/Py/python3.13t.exe", "3.13.5", True, None, "MSC v.1942", "C:/Py")
    beside = ft.Interpreter("C:/Py/python.exe", "3.13.5", False, None, "MSC v.1942", "C:/Py")
    elsewhere = ft.Interpreter("C:/Other/python.exe", "3.13.5", False, None, "MSC v.1942",
                               "C:/Other")
    assert ft.why_not_twin(free, beside) is None
    assert "not installed together" in ft.why_not_twin(free, elsewhere)


def test_twin_candidates_start_with_the_override_and_the_cache_and_look_beside(
        tmp_path, monkeypatch):
    monkeypatch.setenv(ft.GIL_ENV, "/opt/gil/python3.14")
    monkeypatch.setenv(ft.CACHE_ENV, str(tmp_path / "cache"))
    uv = tmp_path / "uv"
    for name, exe in (("cpython-3.14.0+freethreaded-linux", "python3.14t"),
                      ("cpython-3.14.0-linux", "python3.14")):
        (uv / name / "bin").mkdir(parents=True)
        (uv / name / "bin" / exe).touch()
    free = ft.Interpreter(str(uv / "cpython-3.14.0+freethreaded-linux/bin/python3.14t"),
                          "3.14.0", True, base_prefix=str(uv / "cpython-3.14.0+freethreaded-linux"))
    paths = ft.twin_candidates(free)
    assert paths[:2] == ["/opt/gil/python3.14",
                         str(tmp_path / "cache/python3.14-gil/bin/python3.14")]
    assert str(uv / "cpython-3.14.0-linux/bin/python3.14") in paths


def test_the_newest_free_threaded_build_in_the_cache_comes_first(tmp_path, monkeypatch):
    monkeypatch.setenv(ft.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv(ft.FT_ENV, raising=False)
    for minor in ("3.13", "3.14", "3.9"):
        (tmp_path / f"python{minor}t/bin").mkdir(parents=True)
        (tmp_path / f"python{minor}t/bin/python{minor}t").touch()
    cached = [p for p in ft.candidates() if p.startswith(str(tmp_path))]
    assert [p.rsplit("/", 1)[1] for p in cached] == ["python3.14t", "python3.13t",
                                                      "python3.9t"]


def cost(free_cpus, twin_cpus, busy=1.0):
    """A fake measurement: wall = CPU ÷ busy."""
    return ft.SingleThreadCost("Python 3.13.5t", "Python 3.13.5", "count", 3_000_000,
                               tuple(c / busy for c in free_cpus),
                               tuple(c / busy for c in twin_cpus),
                               tuple(free_cpus), tuple(twin_cpus))


SEARCH = ft.TwinSearch(ft.Interpreter("/ft", "3.13.5", True), None)


def test_overhead_words_say_only_what_was_measured():
    slower = ft.describe_single_thread_cost(SEARCH, cost((1.2, 1.18, 1.25), (1.0, 1.0, 1.0)))
    assert "CPU time **+20%**, wall time +20%" in slower
    assert "CPU time over all 3 pairs: +18% to +25%" in slower
    assert "above zero: free-threading costs this thread about 20%" in slower
    assert "3 pairs" in slower and "same build options" in slower
    noise = ft.describe_single_thread_cost(SEARCH, cost((0.97, 1.05, 1.1), (1.0, 1.0, 1.0)))
    assert "within the run-to-run spread — noise" in noise and "costs" not in noise
    even = ft.describe_single_thread_cost(SEARCH, cost((0.98, 1.0, 1.01), (1.0, 1.0, 1.0)))
    assert "noise" in even and "faster" not in even.lower()
    faster = ft.describe_single_thread_cost(SEARCH, cost((0.8, 0.85, 0.9), (1.0, 1.0, 1.0)))
    assert "cannot say why" in faster and "disturbed" in faster
    waited = ft.describe_single_thread_cost(SEARCH,
                                            cost((1.2, 1.2, 1.2), (1.0, 1.0, 1.0), busy=0.6))
    assert "0.60 of a CPU busy" in waited and "disturbed" in waited
    assert "costs this thread" not in waited
    for text in (slower, noise, even, faster, waited):  # no excuse about compiler differences
        assert "compiled differently" not in text and "profile-guided" not in text


def test_one_disturbed_pair_of_many_does_not_widen_the_spread():
    ratios = (1.16, 1.01, 1.12, 0.98, 1.11, 1.03, 1.13, 1.22, 1.2, 1.13, 1.1, 1.1, 1.04, 1.14)
    measured = cost(ratios, (1.0,) * len(ratios))
    low, high, which = measured.spread()
    assert which == "the middle half of the 14 pairs" and 1.0 < low < high < 1.16
    assert "costs this thread about 12%" in ft.describe_single_thread_cost(SEARCH, measured)
    assert measured.spread("wall")[2] == which


def test_single_thread_cost_checks_its_input():
    here = ft.probe(sys.executable)
    with pytest.raises(ValueError, match="pairs"):
        ft.single_thread_cost(here, here, pairs=1)  # a spread needs two
    with pytest.raises(ValueError, match="iterations"):
        ft.single_thread_cost(here, here, size=1)
    with pytest.raises(ValueError, match="kind"):
        cost((1,), (1,)).ratios("user")


def test_single_thread_cost_alternates_two_interpreters():
    here = ft.probe(sys.executable)
    measured = ft.single_thread_cost(here, here, size=20_000, pairs=2)
    assert measured.pairs == 2 and len(measured.ratios("wall")) == 2
    assert all(c > 0 for c in measured.free_cpus + measured.twin_cpus)


def test_the_cache_build_has_its_twin(free_threaded):
    """`make free-threaded` builds its 3.13t and a GIL twin from one source: found here."""
    if not free_threaded.base_prefix.startswith(str(ft.cache_dir())):
        pytest.skip(f"{free_threaded.path} is not make free-threaded's own build")
    search = ft.find_twin(free_threaded)
    if search.twin is None and os.environ.get("CI") != "true":
        pytest.skip("no GIL twin yet: run `make free-threaded`")
    assert search.twin is not None, search.explain()
    assert search.twin.version == free_threaded.version and not search.twin.free_threaded
    measured = ft.single_thread_cost(free_threaded, search.twin, size=100_000, pairs=2)
    assert measured.pairs == 2 and 0 < measured.cpus_busy


# --- tools/free_threaded.sh: which builds it makes, with the slow steps stubbed ------------

SCRIPT = ft.ROOT / "tools" / "free_threaded.sh"
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
