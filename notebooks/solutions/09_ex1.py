# Solution to exercise 1
# The longest segment of the "all threads" bar, read from this machine's measurement:
all_threads = comparison.runs["all threads"]
bottleneck = max(all_threads.runs, key=all_threads.wall)
print(f"bottleneck: {bottleneck} ({all_threads.wall(bottleneck):.2f} s)")
