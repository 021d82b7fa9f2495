"""Notebook 03 · the GIL: why CPU-bound threads do not speed up.

``script_runs`` the seed article's combined script, run safely in its own process
``exercises``   the exercises' self-checks
"""
