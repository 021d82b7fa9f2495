"""The measuring library every lesson uses. It imports no lesson.

``settings``       quick mode (``LAB_QUICK``), the forced start method (``LAB_START_METHOD``), paths
``arguments``      argument validation: ``ValueError`` naming the parameter and its allowed range
``system``         the environment report, the effective CPU count, default workers, the GIL probe
``workloads``      CPU-bound, waiting, and GIL-releasing task functions
``interrupts``     the kernel's interrupt (■) and worker processes: none is left without an owner
``orphans``        a worker process dies with the process that started it (a killed kernel)
``noise``          how undisturbed a measurement was: other programs' CPU use, spread, starved
``executors``      the registry of executor kinds (serial, threads, processes, …)
``runner``         run N tasks on one executor: warm-up, repeats, median, CPU time
``experiments``    compare executors; sweep the number of workers
``pairs``          two things compared on a drifting machine: interleaved pairs, median ratio
``memory``         how much memory a set of processes uses (USS/PSS), and how much is available
``dask_session``   a local Dask cluster that is always closed
``dask_plugins``   a Dask worker dies with the kernel that started its cluster
``words``          sentences derived from the measurements
``thread_trace``   when each thread ran: workers note their progress, lanes and turns from it
``trace_words``    what a thread trace shows, in words (turns, side by side, or disturbed)
``lane_plots``     lanes over time: when each thread ran, held the GIL or waited
``colours``        the lab's colours by name: the Okabe–Ito palette and a reference grey
``plots``          times, speedup and timeline plots, each executor in its own colour
``progress``       progress bars for anything longer than a second
``estimates``      how long a run will take and how much memory it needs, said before it runs
``controls``       bounded sliders and ``RunPanel``: Run and Stop buttons, progress, plot, words
``lab``            ``Lab``, the executor lab (notebooks 03 and 08)
``selfcheck``      the exercises' self-checks: ``CheckResult``, "not answered yet", strict mode
``guess``          predict, then measure: a learner's guess drawn beside the result, in words
``latency_server`` a local HTTP server with controllable latency (127.0.0.1 only) and its clients
``kernel_exit``    a kernel that used spawn/forkserver shuts down without a 2–3 s wait
``measure_cli``    measure in another interpreter, print JSON (``python -m``)
``other_pythons``  other Pythons on this machine: find them (free-threaded, a GIL twin, 3.14+,
                   3.15+), ask what they are, run the lab's runner in them
"""
