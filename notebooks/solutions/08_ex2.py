# Solution to exercise 2
import math

exercise_items = 4_000
per_item_ms = study.per_task_ms("serial")  # one tiny task's own work
overhead_ms = study.overhead_ms("dask")  # what Dask adds to every task, whatever it carries
workers = study.tiny.runs["dask"].workers
# (1) overhead ≤ 10 % of a chunk's work: chunk × per_item_ms ≥ 10 × overhead_ms
fewest = max(1, math.ceil(10 * overhead_ms / per_item_ms))
# (2) at least two Dask tasks per worker: exercise_items / chunk ≥ 2 × workers
most = exercise_items // (2 * workers)
chunk = min(fewest, most)  # the smallest chunk that pays: the most Dask tasks to share out
print(f"chunks of {fewest:,} to {most:,} tiny tasks do both; chosen: {chunk:,}")
