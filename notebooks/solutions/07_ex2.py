# Solution to exercise 2
def safe_add(counter, times):
    for _ in range(times):
        with counter.lock:  # the read and the write together, one thread at a time
            counter.value += 1
