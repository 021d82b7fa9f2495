import subprocess
import sys

import pytest

from helpers import system


def fake_cgroup(monkeypatch, tmp_path, paths, files):
    monkeypatch.setattr(system, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(system, "_own_cgroup_paths", lambda: paths)
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
                          "from helpers.system import effective_cpu_count as e; print(e())"],
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
