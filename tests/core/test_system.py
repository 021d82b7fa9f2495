import subprocess
import sys

import pytest

from helpers.core import system


def fake_cgroup(monkeypatch, tmp_path, paths, files):
    monkeypatch.setattr(system, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(system, "own_cgroup_paths", lambda: paths)
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_cgroup_v2_quota(monkeypatch, tmp_path):
    fake_cgroup(monkeypatch, tmp_path, {"": "/user/lab"},
                {"cgroup.controllers": "cpu", "user/lab/cpu.max": "150000 100000"})
    assert system.cgroup_cpu_quota() == 1.5


def test_cgroup_v2_parent_quota_counts(monkeypatch, tmp_path):
    fake_cgroup(monkeypatch, tmp_path, {"": "/user/lab"},
                {"cgroup.controllers": "cpu", "user/lab/cpu.max": "max 100000",
                 "user/cpu.max": "100000 100000"})
    assert system.cgroup_cpu_quota() == 1.0


def test_cgroup_v2_no_limit(monkeypatch, tmp_path):
    fake_cgroup(monkeypatch, tmp_path, {"": "/"},
                {"cgroup.controllers": "cpu", "cpu.max": "max 100000"})
    assert system.cgroup_cpu_quota() is None


def test_cgroup_v1_quota(monkeypatch, tmp_path):
    fake_cgroup(monkeypatch, tmp_path, {"cpu": "/docker/abc", "cpuacct": "/docker/abc"},
                {"cpu/docker/abc/cpu.cfs_quota_us": "50000",
                 "cpu/docker/abc/cpu.cfs_period_us": "100000"})
    assert system.cgroup_cpu_quota() == 0.5


def test_cgroup_v1_unlimited(monkeypatch, tmp_path):
    fake_cgroup(monkeypatch, tmp_path, {"cpu": "/"},
                {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"})
    assert system.cgroup_cpu_quota() is None


def test_quota_limits_effective_count(monkeypatch):
    monkeypatch.setattr(system, "cgroup_cpu_quota", lambda: 1.5)
    monkeypatch.setattr(system.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(system, "affinity_cpu_count", lambda: 64)
    monkeypatch.setattr(system, "process_cpu_count", lambda: None)
    assert system.effective_cpu_count() == 2  # 1.5 CPUs of quota lets 2 workers run


def test_affinity_limits_effective_count():
    if not hasattr(__import__("os"), "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    if subprocess.run(["which", "taskset"], capture_output=True).returncode:
        pytest.skip("taskset not installed")
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                          "from helpers.core.system import effective_cpu_count as e; print(e())"],
                         capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "1"


def test_report_and_advice():
    report = system.environment_report()
    assert report.effective_cpus >= 1
    assert report.gil_enabled == system.gil_enabled()
    html = report._repr_html_()
    assert "effective cpus" in html and "What this means for you" in html
    assert str(report.effective_cpus) in str(report)


def test_advice_for_one_cpu():
    report = system.environment_report()
    one = type(report)(**{**report.__dict__, "effective_cpus": 1, "os_cpu_count": 64})
    text = " ".join(one.advice())
    assert "1 effective CPU" in text and "cannot speed up" in text and "64" in text


# --- the three CPU counts, explained per version ------------------------------------------

def test_default_pool_workers_is_what_the_pools_really_start():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(mp_context=multiprocessing.get_context(method))  # starts none yet
    try:
        assert pool._max_workers == system.default_pool_workers()
    finally:
        pool.shutdown()
    with ThreadPoolExecutor() as threads:  # min(32, that + 4) on 3.13+, from os.cpu_count before
        assert threads._max_workers == min(32, system.default_pool_workers() + 4)


def _advice_under(command_prefix, env=None):
    code = "from helpers.core.system import environment_report as e; print('\\n'.join(e().advice()))"
    out = subprocess.run([*command_prefix, sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, timeout=60,
                         env={**__import__("os").environ, **(env or {})})
    return out.stdout


def test_pinned_to_one_cpu_the_report_says_which_count_sees_it():
    if subprocess.run(["which", "taskset"], capture_output=True).returncode:
        pytest.skip("taskset not installed")
    text = _advice_under(["taskset", "-c", "0"])
    host = __import__("os").cpu_count()
    assert f"os.cpu_count() counts the host's {host} CPUs" in text
    if sys.version_info >= (3, 13):
        assert "os.process_cpu_count() counts the 1 this process may run on" in text
        assert "starts 1 worker here (os.process_cpu_count())" in text
    else:
        assert "is new in Python 3.13 (the lab reads that affinity itself: 1)" in text
        assert f"starts {host} workers here (os.cpu_count())" in text
        if host > 1:
            assert "pass max_workers=1" in text


@pytest.mark.skipif(sys.version_info < (3, 13), reason="PYTHON_CPU_COUNT is new in 3.13")
def test_an_overridden_cpu_count_is_named():
    text = _advice_under([], {"PYTHON_CPU_COUNT": "1"})
    assert "os.cpu_count() and os.process_cpu_count() both say 1, because PYTHON_CPU_COUNT=1" in text


def test_a_quota_is_seen_by_neither_function():
    report = system.environment_report()
    boxed = type(report)(**{**report.__dict__, "os_cpu_count": 64, "affinity_cpus": 64,
                            "process_cpu_count": 64, "cgroup_quota_cpus": 1.5,
                            "effective_cpus": 2, "default_pool_workers": 64,
                            "cpu_count_override": None})
    text = " ".join(boxed.advice())
    assert "counts the 64 this process may run on" in text
    assert "1.5 CPUs' worth of time, which neither function sees" in text
    assert "starts 64 workers here" in text and "pass max_workers=2" in text


def test_missing_counts_are_explained_not_shown_as_none():
    report = system.environment_report()
    old = type(report)(**{**report.__dict__, "process_cpu_count": None})
    assert "None" not in str(old).split("\n\n")[0]
    assert "new in Python 3.13" in str(old)
