"""``make bench``: figures that show the lessons land on this machine, each beside its goal.

Run it with ``python -m bench`` (``--quick`` for small sizes, as the test does). It writes
``bench/results.json`` and ``bench/results.md`` and, with ``--update-readme``, the table in
README.md between the ``bench:start`` / ``bench:end`` markers.

Modules: :mod:`bench.figures` (a figure, its goal, the machine), :mod:`bench.measures`
(measurements through the lab's own runner), :mod:`bench.notebooks` (every notebook top to
bottom, with a memory sampler), :mod:`bench.widget` (a lab widget in a real browser),
:mod:`bench.report` (JSON, markdown, README).
"""
