"""Notebook 05 · processes in depth: when processes pay off.

``granularity``   how much work a task needs before processes pay off
``data_movement`` pickling vs shared memory vs fork for a large array
``amdahl``        scaling, Amdahl's law and the fitted serial fraction
``worker_memory`` memory per thread and per worker process
``instances``     many copies of a script, via subprocess
``failures``      a worker raising, dying, or being stopped
``fork_threads``  what Python says when a kernel with threads forks (shown once)
``disturbance``   one sentence per sign of other work, for measurements of many runs
``exercises``     the exercises' self-checks
"""
