"""Notebook 07 · free-threading and subinterpreters.

``streaming``       measure in another Python, its results read as they arrive
``gil_off``         measure in a free-threaded Python, GIL off and on; one thread's cost
``gil_lab``         the lab widget (GIL on/off side by side) with the learner's guess
``trace_lanes``     the same binary's threads traced GIL off and PYTHON_GIL=1, drawn as lanes
``key_points``      the notebook's key points, from what it measured
``subinterpreters`` interpreters measured in a Python 3.14+; what extensions need
``lock_exercise``   the exercise: the learner's lock, run in a free-threaded Python
"""
