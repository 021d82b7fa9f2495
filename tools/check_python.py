#!/usr/bin/env python3
"""Can this Python run the lab? ``make lab`` / ``make setup`` ask before building .venv.

    python3 tools/check_python.py                   # before the venv: stop, warn or say nothing
    .venv/bin/python tools/check_python.py --install-failed   # after pip failed: the likely why

* older than the oldest supported Python (3.10): an error, exit status 1;
* newer than the newest tested one (3.15), or not CPython: a WARNING, exit status 0 -- the
  pinned packages with compiled code (numpy, matplotlib, psutil, pyzmq, ...) may have no
  wheels for it yet, and then pip tries to compile them, which needs a C compiler;
* a tested CPython: nothing.

The tested range is ``SUPPORTED`` in tools/test_versions.py, read from its text rather than
imported, so that this file runs on any Python, even one far too old to import that one
(written for Python 2.7 and 3.x: no f-strings, no annotations).
"""
from __future__ import print_function

import ast
import io
import os
import platform
import re
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
VERSIONS_TOOL = os.path.join(HERE, "test_versions.py")


def tested_range(path=VERSIONS_TOOL):
    """``((3, 10), (3, 15))``: the oldest and newest tested minor versions (inclusive)."""
    with io.open(path, encoding="utf-8") as source:
        match = re.search(r"^SUPPORTED\s*=\s*(\(.*?\))\s*(#.*)?$", source.read(), re.MULTILINE)
    if match is None:
        raise ValueError("no 'SUPPORTED = ((3, X), (3, Y))' line in %s" % path)
    return ast.literal_eval(match.group(1))


def dotted(version):
    return ".".join(str(part) for part in version)


def verdict(version, implementation="CPython", free_threaded=False, supported=None):
    """(exit status, message) for a Python ``version`` (a tuple such as ``(3, 16, 0)``)."""
    low, high = supported or tested_range()
    tested = "%s-%s" % (dotted(low), dotted(high))
    newest = "python%s" % dotted(high)
    if tuple(version[:2]) < low:
        return 1, ("ERROR: this is Python %s; the lab needs Python %s or newer "
                   "(tested: CPython %s).\n"
                   "Install Python %s (python.org, your package manager, or pyenv) and run:\n"
                   "    PYTHON=%s make lab"
                   % (dotted(version[:3]), dotted(low), tested, dotted(high), newest))
    untested = []
    if tuple(version[:2]) > high:
        untested.append("Python %s is newer than the newest tested one (%s)"
                        % (dotted(version[:2]), dotted(high)))
    if implementation != "CPython":
        untested.append("%s is not CPython" % implementation)
    if free_threaded:
        untested.append("this is a free-threaded build (requirements.txt is tested on the "
                        "standard build; `make free-threaded` sets up one for notebook 07)")
    if not untested:
        return 0, ""
    return 0, ("WARNING: %s.\n"
               "  Tested: CPython %s, standard (GIL) builds: every pin has wheels for them\n"
               "  on Linux, macOS and Windows, and the notebook tests run on them.\n"
               "  What may break: the pinned packages with compiled code (numpy, matplotlib,\n"
               "  psutil, pyzmq, ...) may have no wheels for this Python yet; pip then tries to\n"
               "  compile them from source, which needs a C compiler and may fail. The notebooks\n"
               "  have not been run on it, so a measurement or a sentence may be off.\n"
               "  To be safe, use Python %s:  rm -rf .venv && PYTHON=%s make lab\n"
               "  Carrying on with this Python."
               % ("; ".join(untested), tested, dotted(high), newest))


def after_failed_install(version, implementation="CPython", free_threaded=False,
                         supported=None):
    """What to tell a learner after ``pip install -r requirements.txt`` failed."""
    status, warning = verdict(version, implementation, free_threaded, supported)
    if not warning:
        return ("pip could not install requirements.txt (its error is above). This Python is\n"
                "tested: every pin has wheels for it on Linux (x86-64, aarch64), macOS and\n"
                "Windows (x86-64), so no compiler should be needed there. Check the network\n"
                "connection or a proxy, then run `make lab` again.")
    _, high = supported or tested_range()
    return ("pip could not install requirements.txt on this Python: most likely a pinned "
            "package has no wheel for it and pip tried to compile it (the error above).\n"
            "Use Python %s, which is tested:  rm -rf .venv && PYTHON=python%s make lab"
            % (dotted(high), dotted(high)))


def this_python():
    """(version, implementation, free_threaded) of the running interpreter."""
    return (tuple(sys.version_info[:3]), platform.python_implementation(),
            bool(sysconfig.get_config_var("Py_GIL_DISABLED")))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--install-failed"]:
        print(after_failed_install(*this_python()), file=sys.stderr)
        return 1
    if argv:
        print("usage: check_python.py [--install-failed]", file=sys.stderr)
        return 2
    status, message = verdict(*this_python())
    if message:
        print(message, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
