"""Notebook 03 · the GIL: why CPU-bound threads do not speed up.

``script_runs``       the seed article's combined example (verbatim), the lab's timed copy
                      and the fixed version, each run as a script in its own process
``overlap``           the measurement the seed's example should have made: a counting thread
                      beside a sleeping thread, overlapping even under the GIL
``turns``             the switch interval sets the turns: two counting threads traced at 1,
                      5 and 20 ms
``trace_lab``         the trace lab widget: workers, workload, switch interval, threads or
                      processes (or, in notebook 07, which Python), redrawn after each trace
``gil_profile``       the GIL itself (3.15+): who held it, who waited, from 3.15's profiler
``gil_profile_words`` that profile's numbers, words and lanes
``readings``          the notebook's sentences about its lab, sweep and GIL-releasing runs
``exercises``         the exercises' self-checks

The seed article's "Multiprocessing and Threading Example" is kept verbatim in
``helpers/scripts/seed_combined.py`` (a test diffs it against the article's text);
everything the lab adds to it lives in the lab's own files: ``seed_timed.py`` (the
article's code with timers, labelled as ours) and ``seed_combined_fixed.py``.
"""
