# Solution to exercise 1
exercise_limits = [20_000, 40_000, 60_000, 80_000]
primes = {}
with start_dask(2) as exercise_session:
    submitted = {exercise_session.client.submit(count_primes, limit): limit
                 for limit in exercise_limits}
    for future in as_completed(submitted, timeout=120):  # a dict {future: limit} says
        primes[submitted[future]] = future.result()      # which limit just finished
