# Solution to exercise 1
with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
    squares = list(pool.map(square, range(10), timeout=30))  # a cell's function fails here
squares
