"""A quiet first start: no "get notified about official Jupyter news?" pop-up, no update check.

Installing the project (``pip install --no-deps -e .``, ``uv sync``, Binder's postBuild) puts
``jupyter-config/share/jupyter/lab/settings/overrides.d/concurrency-lab.json`` into the
environment's prefix, where JupyterLab reads default settings (its app directory's
``settings/overrides.d/*.json``). Only this environment changes: the learner's own
``~/.jupyter`` is untouched, and a learner can still switch news on in Settings.

Checked here: the file is installed where this environment's JupyterLab looks; a real
``jupyter lab`` (127.0.0.1, free port, token, its own config/settings dirs, started from a
temporary directory) serves those defaults; and, as the negative control, the same server
pointed at an empty settings directory serves JupyterLab's own defaults ("none" = ask).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

from tools.lab_driver import REPO, LabServer

PLUGIN = "@jupyterlab/apputils-extension:notification"
QUIET = {"fetchNews": "false", "checkForUpdates": False}
JUPYTERLAB_DEFAULTS = {"fetchNews": "none", "checkForUpdates": True}  # the pop-up asks
RELATIVE = Path("share", "jupyter", "lab", "settings", "overrides.d", "concurrency-lab.json")
SOURCE = REPO / "jupyter-config" / RELATIVE
REINSTALL = "reinstall the project: `.venv/bin/python -m pip install --no-deps -e .`"


def lab_app_dir() -> Path:
    """The app directory this environment's JupyterLab uses (``<sys.prefix>/share/jupyter/lab``
    unless JUPYTERLAB_DIR says otherwise)."""
    from jupyterlab.commands import get_app_dir
    return Path(get_app_dir())


def test_the_settings_file_says_no_news_and_no_update_check():
    settings = json.loads(SOURCE.read_text(encoding="utf-8"))
    assert settings == {PLUGIN: QUIET}


def test_pyproject_installs_it_also_for_editable_installs():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    # hatchling's editable wheels carry shared-data (setuptools' editable wheels skip data
    # files), so `pip install -e .` and `uv sync` both install the settings
    assert pyproject["build-system"]["build-backend"] == "hatchling.build"
    shared = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert {REPO / source: Path(target) for source, target in shared.items()} == {
        SOURCE: RELATIVE}


def test_installed_in_this_environment_where_jupyterlab_reads_it():
    installed = lab_app_dir() / "settings" / "overrides.d" / RELATIVE.name
    assert Path(sys.prefix) in installed.parents, (
        f"JupyterLab's app dir {lab_app_dir()} is outside this environment ({sys.prefix})")
    assert installed.is_file(), f"{installed} is missing: {REINSTALL}"
    assert json.loads(installed.read_text(encoding="utf-8")) == json.loads(
        SOURCE.read_text(encoding="utf-8")), f"{installed} is out of date: {REINSTALL}"


def served_defaults(tmp_path: Path, app_settings_dir: Path | None = None) -> dict:
    """The defaults of the notification settings that a fresh ``jupyter lab`` of this
    environment serves (its schema, after overrides), started in ``tmp_path``."""
    state = tmp_path / "state"
    if app_settings_dir is not None:  # the negative control: another settings directory
        (state / "config").mkdir(parents=True)
        (state / "config" / "jupyter_server_config.json").write_text(
            json.dumps({"LabApp": {"app_settings_dir": str(app_settings_dir)}}))
    root = tmp_path / "root"
    root.mkdir()
    # LabServer gives the server its own config, data, runtime, user-settings and workspace
    # dirs (the learner's ~/.jupyter is not read), waits at most 60 s and always stops it.
    with LabServer(root, state) as server:
        reply = server.api("GET", f"/lab/api/settings/{PLUGIN}")
    properties = reply["schema"]["properties"]
    return {name: properties[name]["default"] for name in QUIET}


def test_a_fresh_jupyter_lab_serves_the_quiet_defaults(tmp_path):
    assert served_defaults(tmp_path) == QUIET


def test_negative_control_without_the_file_jupyterlab_would_ask(tmp_path):
    empty = tmp_path / "empty-settings"
    empty.mkdir()
    assert served_defaults(tmp_path, app_settings_dir=empty) == JUPYTERLAB_DEFAULTS
