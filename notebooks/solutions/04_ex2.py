# Solution to exercise 2
from concurrent.futures import ThreadPoolExecutor


def fetch_within(urls, seconds):
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:  # every page waits at once
        futures = [pool.submit(fetch, url, timeout=seconds) for url in urls]
    # The with block has joined the threads: each fetch ended with a size or a TimeoutError.
    return [None if f.exception(timeout=0) else f.result(timeout=0) for f in futures]
