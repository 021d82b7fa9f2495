"""Contributor tools: builds of other Pythons, the version matrix, wheel checks, and the
JupyterLab driver that the browser tests and ``bench/`` share (``lab_driver``)."""
