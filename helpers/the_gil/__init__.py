"""Notebook 03 · the GIL: why CPU-bound threads do not speed up.

``script_runs`` the seed article's combined example (verbatim), the lab's timed copy and
              the fixed version, each run as a script in its own process, with words
``overlap``   the measurement the seed's example should have made: a counting thread beside
              a sleeping thread, overlapping even under the GIL
``readings``  the notebook's sentences about its lab, sweep and GIL-releasing runs
``exercises`` the exercises' self-checks

The seed article's "Multiprocessing and Threading Example" is kept verbatim in
``helpers/scripts/seed_combined.py`` (a test diffs it against the article's text);
everything the lab adds to it lives in the lab's own files: ``seed_timed.py`` (the
article's code with timers, labelled as ours) and ``seed_combined_fixed.py``.
"""
