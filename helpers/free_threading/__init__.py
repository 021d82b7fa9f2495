"""Notebook 07 · free-threading and subinterpreters.

``other_pythons``   other Pythons on this machine: find them (free-threaded, a GIL twin, 3.14+),
                    ask what they are, run the lab's runner in them
``gil_off``         measure in a free-threaded Python, GIL off and on; one thread's cost
``subinterpreters`` interpreters measured in a Python 3.14+; what extensions need
``lock_exercise``   the exercise: the learner's lock, run in a free-threaded Python
"""
