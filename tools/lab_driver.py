"""A throwaway JupyterLab server and the browser checks the browser tests run.

``LabServer`` starts ``jupyter lab`` on 127.0.0.1 (free port, random token) serving
a temporary directory, with its own settings, workspaces, config and runtime dirs,
so nothing is written into the repository or the user's home.  ``check_notebook``
opens one notebook in a fresh workspace, runs all cells, waits until the kernel is
idle and asserts that no cell failed and every widget rendered, that no output shows an
emoji glyph (which needs an emoji font) and that no widget label or dropdown text is cut;
``exercise_labs`` then moves a control of each lab widget, presses Run and times the wait
for a new plot. While run-all runs, the page records when each lab cell starts executing
(the kernel's ``execute_input``) and when a progress bar first shows in its output.

Playwright is imported by the caller (conftest), never here at import time, so the
module imports on machines without it.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
FIXTURES = REPO / "tests" / "browser" / "fixtures"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", REPO / "test-artifacts" / "browser"))
NOTEBOOK_TIMEOUT = float(os.environ.get("BROWSER_TEST_TIMEOUT", "180"))

WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
# Text that means a widget did not render, or a lab run failed (helpers.core.lab.Lab reports
# exceptions in its status line instead of raising).
BROKEN_WIDGET_TEXTS = ("Error displaying widget", "Loading widget...")
LAB_FAILURE_TEXTS = ("The run failed",)
LAB_MARKER = "Lab("
# A lab widget constructed in a cell: ``Lab(``, ``PoolSizeLab(`` … (not ``class Lab(``).
LAB_CALL = re.compile(r"(?<!class )\b(\w*Lab)\(")
# What counts as a progress bar in a cell's output (ipywidgets IntProgress, tqdm.auto).
PROGRESS_SELECTOR = ".widget-progress, .widget-hprogress, .progress-bar, progress"
# Emoji that need an emoji font (shown as empty boxes with DejaVu): ✅ ❌, the emoji
# variation selector (⚠️ = ⚠ + U+FE0F), and the pictographs U+1F300–U+1FAFF.
EMOJI_PATTERN = "[\\u2705\\u274C\\uFE0F\\u{1F300}-\\u{1FAFF}]"

# User settings: no news or update checks, no autosave, every cell in the DOM.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"checkForUpdates": False,
                                                    "fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class WidgetCheckFailed(AssertionError):
    """Widgets did not render or did not respond (what the negative control expects)."""


class NotebookCheckFailed(AssertionError):
    """A cell raised, did not run, or the kernel did not become idle in time."""


class AcceptanceCheckFailed(AssertionError):
    """Acceptance: a progress bar or a plot came too late, an output shows an emoji glyph,
    or a widget label or dropdown text is cut (the message names each, with numbers)."""


@dataclass(frozen=True)
class LabCell:
    """A code cell that constructs a lab widget: its index among all cells, the class name."""

    index: int
    name: str


def lab_cells(notebook: Path) -> list[LabCell]:
    """The cells of ``notebook`` that construct a lab widget (``Lab(``, ``GilLab(`` …)."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    found = []
    for index, cell in enumerate(cells):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        match = LAB_CALL.search(source) if cell.get("cell_type") == "code" else None
        if match:
            found.append(LabCell(index, match.group(1)))
    return found


def has_lab_widget(notebook: Path) -> bool:
    """True when a code cell of ``notebook`` constructs a lab widget (``Lab(``)."""
    return bool(lab_cells(notebook))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class LabServer:
    """``jupyter lab`` serving ``root_dir`` from a private set of temporary dirs."""

    def __init__(self, root_dir: Path, state_dir: Path, *,
                 disabled_extensions: tuple[str, ...] = (), startup_timeout: float = 60.0,
                 env: dict[str, str | None] | None = None):
        """``env``: variables for the server and its kernels (``None`` removes one), e.g.
        ``{"LAB_PRESENT": "1"}`` or ``{"LAB_QUICK": None}`` for default sizes."""
        self.env_changes = dict(env or {})
        self.root_dir = Path(root_dir)
        self.state_dir = Path(state_dir)
        self.disabled_extensions = disabled_extensions
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(24)
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = self.state_dir / "jupyter-lab.log"
        self._log_file = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- life cycle ---------------------------------------------------------------
    def _prepare_dirs(self) -> dict[str, str]:
        dirs = {name: self.state_dir / name for name in
                ("config", "data", "runtime", "settings", "workspaces", "ipython")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        for plugin, values in USER_SETTINGS.items():
            target = dirs["settings"] / f"{plugin}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values, indent=2), encoding="utf-8")
        if self.disabled_extensions:
            labconfig = dirs["config"] / "labconfig"
            labconfig.mkdir(exist_ok=True)
            (labconfig / "page_config.json").write_text(json.dumps(
                {"disabledExtensions": {name: True for name in self.disabled_extensions}}))
        env = dict(os.environ)
        for name in ("JUPYTER_TOKEN", "JUPYTER_PASSWORD", "MPLBACKEND", "JPY_SESSION_NAME"):
            env.pop(name, None)
        env.update(
            LAB_QUICK="1",
            PYTHONUNBUFFERED="1",
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            IPYTHONDIR=str(dirs["ipython"]),
        )
        for name, value in self.env_changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def start(self, attempts: int = 3) -> "LabServer":
        """Start and wait until ``/api/status`` answers; retry if the free port was taken."""
        env = self._prepare_dirs()
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(env)
            except RuntimeError:
                if attempt == attempts or "address already in use" not in self.log_tail().lower():
                    raise
        raise AssertionError("unreachable")

    def _start_once(self, env: dict[str, str]) -> "LabServer":
        self.port = free_port()
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}", "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if is_root():
            command.append("--allow-root")
        if self._log_file:
            self._log_file.close()
        self._log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=self.root_dir, env=env,
                                        stdin=subprocess.DEVNULL, stdout=self._log_file,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code, self.process = self.process.returncode, None
                raise RuntimeError(f"jupyter lab exited with {code}:\n{self.log_tail()}")
            try:
                if self.api("GET", "/api/status", timeout=2) is not None:
                    return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {self.startup_timeout:.0f} s:\n"
                           f"{self.log_tail()}")

    def __enter__(self) -> "LabServer":
        return self.start()

    def __exit__(self, exc_type: object, *rest: object) -> None:
        survivors = self.stop()
        if survivors and exc_type is None:
            raise AssertionError(f"processes left after stopping jupyter lab: {survivors}")

    def stop(self) -> list[str]:
        """Shut kernels down, terminate the server (then kill); return survivors."""
        if self.process is None:
            return []
        survivors: list[str] = []
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
            except Exception:  # the server may already be unhealthy; keep stopping it
                pass
            try:
                family = [self.process_info()] + self.process_info().children(recursive=True)
            except psutil.NoSuchProcess:
                family = []
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            gone, alive = psutil.wait_procs(family, timeout=5)
            for process in alive:
                try:
                    survivors.append(f"{process.pid} {' '.join(process.cmdline())[:100]}")
                    process.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(alive, timeout=5)
        if self._log_file:
            self._log_file.close()
        self.process = None
        return survivors

    def process_info(self) -> psutil.Process:
        assert self.process is not None
        return psutil.Process(self.process.pid)

    def descendants(self) -> list[str]:
        """Living (non-zombie) processes started by the server, e.g. kernels."""
        alive = []
        for process in self.process_info().children(recursive=True):
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{process.pid} {' '.join(process.cmdline())[:100]}")
            except psutil.NoSuchProcess:
                pass
        return alive

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- REST ----------------------------------------------------------------------
    def api(self, method: str, path: str, timeout: float = 10) -> Any:
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else {}

    def shutdown_kernels(self, timeout: float = 20) -> list[str]:
        """Delete every session and kernel; wait until no kernel process is left.

        Returns the processes still alive after ``timeout`` (should be empty).
        """
        for session in self.api("GET", "/api/sessions"):
            try:
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=timeout)
            except urllib.error.HTTPError:
                pass
        for kernel in self.api("GET", "/api/kernels"):
            try:
                self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=timeout)
            except urllib.error.HTTPError:
                pass
        deadline = time.monotonic() + timeout
        while True:
            left = self.descendants()
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.2)

    def notebook_url(self, path: str) -> str:
        workspace = f"browser-test-{uuid.uuid4().hex[:12]}"
        quoted = urllib.request.pathname2url(path)
        return f"{self.url}/lab/workspaces/{workspace}/tree/{quoted}?reset&token={self.token}"


# ------------------------------------------------------------------------------------
# In-page JavaScript.  ``panel(path)`` finds the notebook widget whose file is ``path``.
_FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
};
"""

_JS_READY = _FIND_PANEL + """
(path) => {
  const p = findPanel(path);
  if (!p || !p.context.isReady || !p.sessionContext.isReady) return false;
  const session = p.sessionContext.session;
  const kernel = session && session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}
"""

_JS_LISTEN = _FIND_PANEL + """
(path) => {
  const p = findPanel(path);
  window.__bt = {errors: [], stderr: [], runAll: 'not started'};
  p.sessionContext.iopubMessage.connect((_, msg) => {
    const t = msg.header.msg_type, c = msg.content;
    if (t === 'error') {
      window.__bt.errors.push({ename: c.ename, evalue: c.evalue,
                               traceback: (c.traceback || []).join('\\n')});
    } else if (t === 'stream' && c.name === 'stderr') {
      window.__bt.stderr.push(c.text);
    }
  });
  return true;
}
"""

_JS_RUN_ALL = _FIND_PANEL + """
(path) => {
  const app = window.jupyterapp, p = findPanel(path);
  app.shell.activateById(p.id);
  window.__bt.runAll = 'running';
  app.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__bt.runAll = ok ? 'done' : 'stopped'; },
    (err) => { window.__bt.runAll = 'failed: ' + err; });
  return true;
}
"""

_JS_IDLE = _FIND_PANEL + """
(path) => {
  const p = findPanel(path);
  if (!p || window.__bt.runAll === 'running') return false;
  const kernel = p.sessionContext.session && p.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  for (const prompt of p.content.node.querySelectorAll('.jp-InputPrompt')) {
    if (prompt.textContent.includes('*')) return false;
  }
  return true;
}
"""

_JS_NO_LOADING = _FIND_PANEL + """
(path) => {
  const p = findPanel(path);
  if (!p) return false;
  for (const n of p.content.node.querySelectorAll('.jp-OutputArea-output')) {
    for (const c of n.childNodes) {
      if (c.nodeType === 3 && c.textContent.includes('Loading widget...')) return false;
    }
  }
  return true;
}
"""

_JS_STATE = _FIND_PANEL + f"""
const MIME = '{WIDGET_VIEW_MIME}', BROKEN = {json.dumps(list(BROKEN_WIDGET_TEXTS))};
""" + """
(path) => {
  const p = findPanel(path), model = p.content.model;
  const kernel = p.sessionContext.session && p.sessionContext.session.kernel;
  const state = {runAll: window.__bt.runAll, kernel: kernel ? kernel.status : 'none',
                 iopubErrors: window.__bt.errors, stderr: window.__bt.stderr.join(''),
                 cellErrors: [], unexecuted: [], allowedErrors: [], cells: []};
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    const source = cell.sharedModel.getSource();
    const tags = cell.getMetadata('tags') || [];
    const outputs = cell.outputs.toJSON();
    const view = p.content.widgets[i];
    const dom = view && view.outputArea ? Array.from(view.outputArea.node.querySelectorAll(
      ':scope > .jp-OutputArea-child > .jp-OutputArea-output')) : [];
    const aligned = dom.length === outputs.length;
    const info = {index: i, widgetViews: 0, rendered: 0, closed: 0, notRendered: []};
    outputs.forEach((o, j) => {
      if (!(o.data && o.data[MIME])) return;
      info.widgetViews++;
      const n = aligned ? dom[j] : null;
      if (n && n.querySelector('.jupyter-widgets')) info.rendered++;
      else if (n && n.classList.contains('lm-mod-hidden') && !n.textContent.trim()) info.closed++;
      else if (n) info.notRendered.push(n.textContent.trim().slice(0, 100) || '(empty)');
    });
    if (!aligned && info.widgetViews) {  // fall back to counting rendered widget outputs
      info.rendered = dom.filter((n) => n.querySelector('.jupyter-widgets')).length;
      info.notRendered.push(`(${dom.length} output elements for ${outputs.length} outputs)`);
    }
    state.cells.push(info);
    for (const o of outputs) {
      if (o.output_type !== 'error') continue;
      const entry = {cell: i, ename: o.ename, evalue: o.evalue};
      (tags.includes('raises-exception') ? state.allowedErrors : state.cellErrors).push(entry);
    }
    if (source.trim() && cell.executionCount === null) state.unexecuted.push(i);
  }
  // the renderer writes these as the output element's own text (not in markdown, not in HTML)
  const ownText = Array.from(p.content.node.querySelectorAll('.jp-OutputArea-output'))
    .map((n) => Array.from(n.childNodes).filter((c) => c.nodeType === 3)
                     .map((c) => c.textContent).join('')).join(' | ');
  state.brokenTexts = BROKEN.filter((t) => ownText.includes(t));
  state.jupyterWidgets = p.content.node.querySelectorAll('.jupyter-widgets').length;
  return state;
}
"""
_JS_MARK_LAB_CELLS = _FIND_PANEL + """
([path, indices]) => {
  // In each lab cell's output: the widget box holding a Run button and an Output area.
  const p = findPanel(path);
  return indices.map((index, k) => {
    const view = p.content.widgets[index];
    const area = view && view.outputArea ? view.outputArea.node : null;
    const buttons = area ? Array.from(area.querySelectorAll('button.widget-button'))
      .filter((b) => b.textContent.trim() === 'Run') : [];
    for (const button of buttons) {
      let node = button.parentElement;
      while (node && node !== area) {
        if (node.classList.contains('widget-vbox') && node.querySelector('.widget-output')) {
          node.dataset.browserTestLab = String(k);
          return true;
        }
        node = node.parentElement;
      }
    }
    return false;
  });
}
"""

_JS_WATCH_PROGRESS = _FIND_PANEL + f"""
const PROGRESS = {json.dumps(PROGRESS_SELECTOR)};
""" + """
([path, indices]) => {
  // Before run-all: note when each lab cell starts executing (the kernel's execute_input
  // for its code arrives) and when a progress bar first shows in its output.
  const p = findPanel(path), w = window.__bt;
  w.cellStart = {}; w.barSeen = {};
  const sources = {};
  for (const i of indices) sources[i] = p.content.model.cells.get(i).sharedModel.getSource();
  p.sessionContext.iopubMessage.connect((_, msg) => {
    if (msg.header.msg_type !== 'execute_input') return;
    for (const i of indices) {
      if (w.cellStart[i] === undefined && msg.content.code === sources[i]) {
        w.cellStart[i] = performance.now();
      }
    }
  });
  const check = () => {
    for (const i of indices) {
      if (w.barSeen[i] !== undefined) continue;
      const view = p.content.widgets[i];
      const area = view && view.outputArea ? view.outputArea.node : null;
      if (!area) continue;
      for (const bar of area.querySelectorAll(PROGRESS)) {
        const box = bar.getBoundingClientRect();
        if (box.width > 0 && box.height > 0) { w.barSeen[i] = performance.now(); break; }
      }
    }
  };
  w.progressObserver = new MutationObserver(check);
  w.progressObserver.observe(p.content.node, {childList: true, subtree: true});
  w.progressTimer = setInterval(check, 50);
  return true;
}
"""

_JS_PROGRESS_TIMES = """
() => {
  const w = window.__bt;
  if (w.progressObserver) w.progressObserver.disconnect();
  if (w.progressTimer) clearInterval(w.progressTimer);
  return {start: w.cellStart || {}, bar: w.barSeen || {}};
}
"""

_JS_OUTPUT_PROBLEMS = _FIND_PANEL + f"""
const EMOJI = new RegExp({json.dumps(EMOJI_PATTERN)}, 'u');
""" + """
(path) => {
  // Emoji glyphs in rendered outputs; widget labels and dropdown texts wider than their box.
  const p = findPanel(path), found = {emoji: [], cut: []};
  const outputs = Array.from(p.content.node.querySelectorAll('.jp-OutputArea-output'));
  for (const out of outputs) {
    for (const line of (out.innerText || out.textContent || '').split('\\n')) {
      if (EMOJI.test(line)) found.emoji.push(line.trim().slice(0, 160));
    }
  }
  const visible = (el) => el.offsetParent !== null && el.clientWidth > 0;
  for (const out of outputs) {
    for (const el of out.querySelectorAll('.widget-label, .widget-label-basic')) {
      if (visible(el) && el.scrollWidth > el.clientWidth + 1 && el.textContent.trim()) {
        const shown = el.textContent.replace(/\u00a0/g, ' ').trim();
        found.cut.push(`label "${shown}" needs ${el.scrollWidth} px, ` +
                       `has ${el.clientWidth} px`);
      }
    }
    const ctx = document.createElement('canvas').getContext('2d');
    for (const s of out.querySelectorAll('select')) {
      if (!visible(s) || s.multiple || s.size > 1 || s.selectedIndex < 0) continue;
      const cs = getComputedStyle(s), text = s.options[s.selectedIndex].text;
      const shown = text.replace(/\u00a0/g, ' ');  // ipywidgets keeps spaces as NBSP
      ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      const inner = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      const needed = ctx.measureText(text).width;
      if (needed > inner + 1) {
        found.cut.push(`dropdown text "${shown}" needs ${needed.toFixed(0)} px, ` +
                       `has ${inner.toFixed(0)} px`);
      }
    }
  }
  return found;
}
"""

_JS_ARM_RUN_TIMER = """
(key) => {
  // Time one Run in the page: from the Run button's click event to the first new plot
  // (the <img> in the lab's Output changes), and to Run enabled again after it was disabled.
  const lab = document.querySelector(`[data-browser-test-lab="${key}"]`);
  const src = () => { const img = lab.querySelector('.widget-output img');
                      return img ? img.getAttribute('src') : null; };
  const runs = Array.from(lab.querySelectorAll('button.widget-button'))
    .filter((b) => b.textContent.trim() === 'Run');
  const t = {before: src(), clicked: null, plotted: null, disabled: false, done: null};
  window.__bt.timer = t;
  runs.forEach((b) => b.addEventListener('click', () => {
    if (t.clicked === null) t.clicked = performance.now();
  }, {capture: true, once: true}));
  const check = () => {
    if (t.clicked === null) return;
    const now = performance.now(), s = src();
    if (t.plotted === null && s && s !== t.before) t.plotted = now;
    if (runs.some((b) => b.disabled)) t.disabled = true;
    else if (t.disabled && t.done === null) t.done = now;
  };
  const observer = new MutationObserver(check);
  observer.observe(lab, {childList: true, subtree: true, attributes: true,
                         attributeFilter: ['src', 'disabled']});
  t.timer = setInterval(check, 20);
  t.stop = () => { observer.disconnect(); clearInterval(t.timer); };
  return t.before;
}
"""

_JS_RUN_TIMES = """
() => {
  const t = window.__bt.timer;
  if (t.plotted === null && t.done === null) return null;
  if (t.plotted !== null && (t.done !== null || !t.disabled)) t.stop();
  return {first: t.plotted === null ? null : (t.plotted - t.clicked) / 1000,
          complete: t.done === null ? null : (t.done - t.clicked) / 1000};
}
"""

_JS_PLOT = """
(i) => {
  const lab = document.querySelector(`[data-browser-test-lab="${i}"]`);
  const img = lab && lab.querySelector('.widget-output img');
  return img ? img.getAttribute('src') : null;
}
"""

_JS_PLOT_CHANGED = """
([i, before]) => {
  const lab = document.querySelector(`[data-browser-test-lab="${i}"]`);
  const img = lab && lab.querySelector('.widget-output img');
  const src = img && img.getAttribute('src');
  return !!src && src !== before;
}
"""

_JS_LAB_SIGNATURE = _FIND_PANEL + """
([path, i]) => {
  const p = findPanel(path);
  const kernel = p && p.sessionContext.session && p.sessionContext.session.kernel;
  const lab = document.querySelector(`[data-browser-test-lab="${i}"]`);
  if (!kernel || kernel.status !== 'idle' || !lab) return null;
  const buttons = Array.from(lab.querySelectorAll('button.widget-button'))
    .filter((b) => b.textContent.trim() === 'Run');
  if (buttons.some((b) => b.disabled)) return null;
  const img = lab.querySelector('.widget-output img');
  const src = (img && img.getAttribute('src')) || '';
  const bars = Array.from(lab.querySelectorAll('.progress-bar')).map((b) => b.style.width);
  return `${src.length}:${src.slice(-80)}|${bars.join(',')}|${lab.textContent}`;
}
"""

_JS_SCROLL_HEIGHT = _FIND_PANEL + """
(path) => {
  const p = findPanel(path);
  const outer = p.content.node.querySelector('.jp-WindowedPanel-outer') || p.content.node;
  outer.scrollTop = 0;
  const cells = p.content.node.querySelectorAll('.jp-Cell');
  const last = cells.length ? cells[cells.length - 1] : null;
  const content = last ? last.getBoundingClientRect().bottom - outer.getBoundingClientRect().top
                       : outer.scrollHeight;
  return {content: content, visible: outer.clientHeight, window: window.innerHeight};
}
"""

PROGRESS_BOUND_S = 1.0  # a lab cell's progress bar shows within this long of the cell starting
RUN_POLL_MS = 50


@dataclass
class NotebookReport:
    """What happened in one notebook, for messages and the terminal."""

    path: str
    seconds: dict[str, float] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    labs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    bar_delays: dict[int, float | None] = field(default_factory=dict)  # cell → s, None: never
    runs: list[dict] = field(default_factory=list)  # exercise_labs' timings
    problems: list[str] = field(default_factory=list)  # acceptance failures, reported together


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _strip(text: str, limit: int = 1500) -> str:
    text = ANSI.sub("", text)
    return text if len(text) <= limit else text[:limit] + " …"


def open_notebook(page, server: LabServer, path: str, timeout: float = 60) -> None:
    """Open ``path`` in a fresh workspace; wait until its kernel is idle."""
    page.goto(server.notebook_url(path), wait_until="domcontentloaded",
              timeout=timeout * 1000)
    try:
        page.wait_for_function(_JS_READY, arg=path, timeout=timeout * 1000, polling=250)
    except Exception as error:
        dialogs = page.locator(".jp-Dialog").all_text_contents()
        raise NotebookCheckFailed(
            f"{path}: notebook or kernel not ready within {timeout:.0f} s"
            + (f"; dialog: {dialogs}" if dialogs else "")) from error
    page.evaluate(_JS_LISTEN, path)


def start_run_all(page, path: str) -> None:
    """Start running all cells of ``path`` and return at once (:func:`run_all` also waits)."""
    page.evaluate(_JS_RUN_ALL, path)


def run_all(page, path: str, timeout: float, watch: list[LabCell] = ()) -> None:
    """Run all cells; wait until run-all finished, the kernel is idle and no cell is queued.

    ``watch``: lab cells whose start and first progress bar the page records (see
    :func:`progress_delays`)."""
    if watch:
        page.evaluate(_JS_WATCH_PROGRESS, [path, [cell.index for cell in watch]])
    start_run_all(page, path)
    try:
        page.wait_for_function(_JS_IDLE, arg=path, timeout=timeout * 1000, polling=250)
    except Exception as error:  # playwright TimeoutError; keep the module import-light
        state = page.evaluate(_JS_STATE, path)
        raise NotebookCheckFailed(
            f"{path}: kernel not idle after {timeout:.0f} s (run-all: {state['runAll']}, "
            f"kernel: {state['kernel']}, cells not run: {state['unexecuted']})") from error
    # idle must hold for a moment: a widget callback or a queued request may follow
    time.sleep(0.5)
    page.wait_for_function(_JS_IDLE, arg=path, timeout=timeout * 1000, polling=250)


def progress_delays(page, cells: list[LabCell]) -> dict[int, float | None]:
    """Seconds from each watched cell's start to its first visible progress bar (None: no bar
    ever showed, or the cell never started)."""
    times = page.evaluate(_JS_PROGRESS_TIMES)
    delays: dict[int, float | None] = {}
    for cell in cells:
        start, bar = times["start"].get(str(cell.index)), times["bar"].get(str(cell.index))
        delays[cell.index] = None if start is None or bar is None else (bar - start) / 1000
    return delays


def progress_problems(path: str, cells: list[LabCell], delays: dict[int, float | None],
                      bound: float = PROGRESS_BOUND_S) -> list[str]:
    """A sentence for each lab cell whose progress bar came later than ``bound`` (or never)."""
    problems = []
    for cell in cells:
        delay = delays.get(cell.index)
        if delay is None:
            problems.append(f"{path} cell {cell.index} ({cell.name}): no progress bar showed "
                            "during run-all (or the cell's start was not seen)")
        elif delay > bound:
            problems.append(f"{path} cell {cell.index} ({cell.name}): progress bar visible "
                            f"{delay:.2f} s after the cell started (bound {bound:.1f} s)")
    return problems


def output_problems(page, path: str) -> list[str]:
    """Emoji glyphs in rendered outputs and cut widget labels or dropdown texts, named."""
    found = page.evaluate(_JS_OUTPUT_PROBLEMS, path)
    problems = [f"{path}: output shows an emoji glyph (needs an emoji font): {line!r}"
                for line in dict.fromkeys(found["emoji"])]
    problems += [f"{path}: cut text: {what}" for what in dict.fromkeys(found["cut"])]
    return problems


def check_state(page, path: str, grace: float = 15) -> dict[str, Any]:
    """Assert no error output, every cell ran, every widget view rendered."""
    try:
        page.wait_for_function(_JS_NO_LOADING, arg=path, timeout=grace * 1000, polling=250)
    except Exception:
        pass  # reported below as a stuck "Loading widget..."
    state = page.evaluate(_JS_STATE, path)
    allowed = {(e["ename"], e["evalue"]) for e in state["allowedErrors"]}
    errors = [e for e in state["iopubErrors"] if (e["ename"], e["evalue"]) not in allowed]
    if errors or state["cellErrors"]:
        shown = "\n\n".join(_strip(e["traceback"] or f"{e['ename']}: {e['evalue']}")
                            for e in errors) or json.dumps(state["cellErrors"])
        raise NotebookCheckFailed(f"{path}: error output\n{shown}")
    if state["runAll"] != "done" or state["unexecuted"]:
        raise NotebookCheckFailed(f"{path}: run-all {state['runAll']!r}; code cells not run: "
                                  f"{state['unexecuted']}")
    problems = []
    for cell in state["cells"]:
        views = cell["widgetViews"]
        if views and (cell["notRendered"] or cell["rendered"] + cell["closed"] < views):
            problems.append(f"cell {cell['index']}: {views} widget view(s) in the outputs, "
                            f"{cell['rendered']} rendered by the widget manager"
                            + (f"; shown instead: {cell['notRendered']}"
                               if cell["notRendered"] else ""))
    if state["brokenTexts"]:
        problems.append(f"page shows {state['brokenTexts']} after the kernel went idle "
                        f"and a {grace:.0f} s grace period")
    if problems:
        raise WidgetCheckFailed(f"{path}: widgets did not render:\n  " + "\n  ".join(problems))
    return state


def mark_labs(page, path: str, cells: list[LabCell]) -> None:
    """Mark each lab cell's widget box ``data-browser-test-lab=K`` (K: its place in ``cells``)."""
    found = page.evaluate(_JS_MARK_LAB_CELLS, [path, [cell.index for cell in cells]])
    missing = [f"cell {cell.index} ({cell.name})" for cell, ok in zip(cells, found) if not ok]
    if missing:
        raise WidgetCheckFailed(f"{path}: widgets did not render: {', '.join(missing)} "
                                "constructs a lab widget "
                                f"({LAB_MARKER!r}) but shows no rendered widget box with a "
                                "'Run' button and an Output")


def lab_run_button(page, key: int):
    lab = page.locator(f'[data-browser-test-lab="{key}"]')
    return lab, lab.locator("button.widget-button", has_text=re.compile(r"^\s*Run\s*$")).first


def lab_stop_button(page, key: int):
    """Lab widget ``key``'s Stop button (:class:`helpers.core.controls.RunPanel`)."""
    lab = page.locator(f'[data-browser-test-lab="{key}"]')
    return lab.locator("button.widget-button", has_text=re.compile(r"^\s*Stop\s*$")).first


def timed_run(page, path: str, key: int, timeout: float) -> dict:
    """Change a control of lab ``key``, click Run; seconds to the first new plot and to the
    end of the run (``complete_s``, None if its Run button never went disabled), measured in
    the page from the click event. Waits until the lab has settled afterwards."""
    lab, run_button = lab_run_button(page, key)
    lab.scroll_into_view_if_needed(timeout=10_000)
    _wait_lab_settled(page, path, key, timeout)
    changed = _change_a_control(lab)
    page.evaluate(_JS_ARM_RUN_TIMER, key)
    run_button.click(timeout=10_000)
    try:
        times = page.wait_for_function(_JS_RUN_TIMES, timeout=timeout * 1000,
                                       polling=RUN_POLL_MS).json_value()
    except Exception as error:
        raise WidgetCheckFailed(f"{path}: lab widget {key}: the plot did not change within "
                                f"{timeout:.0f} s of pressing Run") from error
    extra = time.monotonic() + min(timeout, 10)  # the run ended: a last plot may still come
    while times["first"] is None and time.monotonic() < extra:
        time.sleep(0.2)
        times = page.evaluate(_JS_RUN_TIMES)
    if times["first"] is None:
        raise WidgetCheckFailed(f"{path}: lab widget {key}: the run ended without a new plot "
                                "(the plot did not change)")
    _wait_lab_settled(page, path, key, timeout)
    if times["complete"] is None:
        times = page.evaluate(_JS_RUN_TIMES) or times
    return {"control": changed, "first_plot_s": times["first"],
            "complete_s": times["complete"]}


def exercise_labs(page, path: str, cells: list[LabCell], timeout: float,
                  plot_bound: float | None = None) -> tuple[list[dict], list[str]]:
    """For each lab widget: change a control, press Run, time the first new plot.

    Returns the timings and, with ``plot_bound``, a sentence for each lab whose first new
    plot came later than that (acceptance problems, raised by the caller)."""
    mark_labs(page, path, cells)
    runs, problems = [], []
    for key, cell in enumerate(cells):
        lab, run_button = lab_run_button(page, key)
        lab.scroll_into_view_if_needed(timeout=10_000)
        if page.evaluate(_JS_PLOT, key) is None:  # nothing drawn yet: draw once first
            _wait_lab_settled(page, path, key, timeout)
            run_button.click(timeout=10_000)
            _wait_plot_changed(page, path, key, None, timeout)
        run = {"cell": cell.index, "name": cell.name, **timed_run(page, path, key, timeout)}
        tries = [run["first_plot_s"]]
        while plot_bound is not None and run["first_plot_s"] > plot_bound and len(tries) < 3:
            # one slow click can be a busy machine (the browser, server and kernel share
            # it); a widget that draws late does so every time: the best of 3 tells them apart
            run = {"cell": cell.index, "name": cell.name, **timed_run(page, path, key, timeout)}
            tries.append(run["first_plot_s"])
        run["tries_s"] = tries
        text = lab.text_content(timeout=10_000) or ""
        failures = [t for t in LAB_FAILURE_TEXTS + BROKEN_WIDGET_TEXTS if t in text]
        if failures:
            raise WidgetCheckFailed(f"{path}: lab widget {key} ({cell.name}) shows {failures}: "
                                    f"{_strip(text, 400)}")
        if plot_bound is not None and run["first_plot_s"] > plot_bound:
            problems.append(f"{path} cell {cell.index} ({cell.name}): first new plot "
                            f"{', '.join(f'{t:.2f}' for t in tries)} s after Run in "
                            f"{len(tries)} tries ({run['control']}; bound {plot_bound:.1f} s)")
        runs.append(run)
    return runs, problems


def _change_a_control(lab) -> str:
    """Move the first slider one step (keyboard), or pick another dropdown option."""
    handles = lab.locator(".widget-slider .noUi-handle")
    if handles.count():
        slider = lab.locator(".widget-slider").first
        readout = slider.locator(".widget-readout")
        old = readout.text_content(timeout=5_000)
        for key in ("ArrowLeft", "ArrowRight"):
            handles.first.focus(timeout=5_000)
            handles.first.press(key, timeout=5_000)
            new = readout.text_content(timeout=5_000)
            if new != old:
                return f"slider {old!r} → {new!r} ({key})"
        raise WidgetCheckFailed(f"slider readout stayed {old!r} after ArrowLeft/ArrowRight")
    select = lab.locator(".widget-dropdown select")
    if select.count():
        options = select.first.locator("option").all_text_contents()
        current = select.first.evaluate("(s) => s.options[s.selectedIndex].text")
        other = next((o for o in options if o != current), None)
        if other is None:
            raise WidgetCheckFailed(f"dropdown has a single option {current!r}")
        select.first.select_option(label=other, timeout=5_000)
        return f"dropdown {current!r} → {other!r}"
    raise WidgetCheckFailed("lab widget has neither a slider nor a dropdown to change")


def _wait_plot_changed(page, path: str, i: int, before: str | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    try:
        page.wait_for_function(_JS_PLOT_CHANGED, arg=[i, before], timeout=timeout * 1000,
                               polling=250)
    except Exception as error:
        raise WidgetCheckFailed(f"{path}: lab widget {i}: the plot did not change within "
                                f"{timeout:.0f} s of pressing Run") from error
    _wait_lab_settled(page, path, i, max(deadline - time.monotonic(), 10))


def _wait_lab_settled(page, path: str, i: int, timeout: float, quiet: float = 1.5) -> None:
    """Wait until the run is over: Run enabled, kernel idle, nothing redrawn for ``quiet`` s.

    The kernel's busy/idle status alone is not enough: with ipykernel 7 it reports idle
    while a button callback is still running (seen here), so the lab's own signals count.
    """
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        signature = page.evaluate(_JS_LAB_SIGNATURE, [path, i])
        now = time.monotonic()
        if signature is not None and signature == last:
            if now - since >= quiet:
                return
        else:
            last, since = signature, now
        time.sleep(0.25)
    raise WidgetCheckFailed(f"{path}: lab widget {i} still running {timeout:.0f} s after Run")


SCREENSHOTS: list[Path] = []  # written in this session (the terminal summary names the folder)


def screenshot(page, path: str, target: Path, max_height: int = 12_000) -> None:
    """Save the whole notebook: grow the viewport to its height, shoot, restore."""
    target.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.append(target)
    size = page.viewport_size
    try:
        dims = page.evaluate(_JS_SCROLL_HEIGHT, path)
        height = int(dims["window"] - dims["visible"] + dims["content"] + 40)
        page.set_viewport_size({"width": size["width"],
                                "height": max(size["height"], min(height, max_height))})
        page.wait_for_timeout(500)
    except Exception:
        pass  # a screenshot of the viewport is still better than none
    try:
        page.screenshot(path=str(target), timeout=30_000)
    finally:
        page.set_viewport_size(size)


def screenshot_lab(page, key: int, target: Path, width: int = 1280, height: int = 720) -> None:
    """A ``width``×``height`` viewport shot with lab widget ``key`` at its top (what a learner,
    or a projector, shows of it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.append(target)
    size = page.viewport_size
    try:
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("(k) => document.querySelector(`[data-browser-test-lab=\"${k}\"]`)"
                      ".scrollIntoView({block: 'start'})", key)
        page.wait_for_timeout(300)
        page.screenshot(path=str(target), timeout=30_000)
    finally:
        page.set_viewport_size(size)


def check_notebook(page, server: LabServer, path: str, *, labs: list[LabCell] = (),
                   timeout: float = 180, artifact: Path | None = None,
                   plot_bound: float | None = None) -> NotebookReport:
    """Open, run all, check outputs and widgets, exercise lab widgets, screenshot.

    ``labs``: the notebook's lab cells (:func:`lab_cells`): their progress bars are timed
    during run-all (bound :data:`PROGRESS_BOUND_S`) and each is exercised (first new plot
    within ``plot_bound`` s, when given). Those acceptance problems, emoji glyphs and cut
    labels are gathered and raised together (:class:`AcceptanceCheckFailed`) after every
    other check passed; a 1280×720 shot of each lab goes beside ``artifact`` (the first as
    ``…-lab.png``, then ``…-lab2.png``, …)."""
    report = NotebookReport(path)
    page.on("console", lambda m: report.console_errors.append(m.text)
            if m.type == "error" else None)
    page.on("pageerror", lambda e: report.console_errors.append(str(e)))
    start = time.monotonic()
    try:
        open_notebook(page, server, path)
        _checks(page, path, report, list(labs), timeout, start, plot_bound)
    except (NotebookCheckFailed, WidgetCheckFailed) as failure:
        context = "".join(f"\n  browser console: {_strip(line, 300)}"
                          for line in report.console_errors[-5:])
        raise type(failure)(f"{failure}{context}\n--- jupyter lab log (last lines) ---\n"
                            f"{server.log_tail(15)}") from failure
    finally:
        if artifact is not None:
            try:
                screenshot(page, path, artifact)
                for key in range(len(report.runs)):  # -lab.png, then -lab2.png, …
                    suffix = f"-lab{key + 1 if key else ''}.png"
                    screenshot_lab(page, key, artifact.with_name(artifact.stem + suffix))
            except Exception as error:  # never hide the real failure behind this one
                print(f"screenshot of {path} failed: {error}")
    if report.problems:
        raise AcceptanceCheckFailed(f"{path}: acceptance checks failed:\n  "
                                    + "\n  ".join(report.problems))
    return report


def _checks(page, path: str, report: NotebookReport, labs: list[LabCell], timeout: float,
            start: float, plot_bound: float | None) -> None:
    report.seconds["open"] = time.monotonic() - start
    run_all(page, path, timeout, watch=labs)
    report.seconds["run all"] = time.monotonic() - start
    report.state = check_state(page, path)
    if labs:
        report.bar_delays = progress_delays(page, labs)
        report.problems += progress_problems(path, labs, report.bar_delays)
    report.problems += output_problems(page, path)
    if labs:
        report.runs, late = exercise_labs(page, path, labs, min(timeout, 120), plot_bound)
        report.problems += late
        report.labs = [f"{run['name']} (cell {run['cell']}): {run['control']}, Run → new plot "
                       f"after {run['first_plot_s']:.2f} s" for run in report.runs]
        check_state(page, path, grace=5)  # a callback may have raised
    report.seconds["total"] = time.monotonic() - start


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(
        ".ipynb_checkpoints", "__pycache__", "*.pyc"))


def open_page(browser, width: int = 1280, height: int = 900):
    """A fresh browser context (no cookies, storage or cache) and a page in it."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(30_000)
    return context, context.new_page()
