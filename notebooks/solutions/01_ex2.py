# Solution to exercise 2
start = time.perf_counter()
with ThreadPoolExecutor(max_workers=len(DELAYS_MS)) as pool:  # one thread per wait
    waited = list(pool.map(sleep_ms, DELAYS_MS, timeout=30))  # in the order of DELAYS_MS
elapsed = time.perf_counter() - start
print([f"{s * 1000:.0f} ms" for s in waited], f"in {elapsed:.3f} s")
