# Solution to exercise 2
# fetch waits: one thread per page (at most 16) overlaps every wait, on any machine.
# compute runs pure Python: under the GIL only processes, one per effective CPU, compute
# in parallel (on 1 effective CPU nothing can: there its tool hardly matters).
# parse and aggregate are too small to pay for sending their data to a pool.
my_stages = {"fetch": ("threads", comparison.baseline.job.io_workers),
             "parse": ("serial", 1),
             "compute": ("processes", report.effective_cpus),
             "aggregate": ("serial", 1)}
