"""Notebook 07 · free-threading and subinterpreters.

``gil_off``         find a free-threaded Python and measure in it, GIL off and on
``subinterpreters`` interpreters measured in a Python 3.14+; what extensions need
``lock_exercise``   the exercise: the learner's lock, run in a free-threaded Python
"""
