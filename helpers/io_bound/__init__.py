"""Notebook 04 · I/O-bound work: waiting for the network, for events, and for the GIL.

``scraping``      serial / threads / asyncio / processes fetching the same pages
``pool_size``     throughput (requests/s) against the number of threads; ``PoolSizeLab``
``server_load``   K client threads against one server: throughput, p50, p95
``waiting``       CPU time of blocked waiters; asyncio tasks versus threads
``convoy``        round trips of an I/O thread to an echo process while CPU-bound threads run
``convoy_lanes``  the convoy drawn: the I/O thread's round trips beside the CPU threads' lanes
``pool_cost``     start-up time and memory of a thread pool versus a process pool
``exercises``     the exercises' self-checks
``key_points``    the notebook's key points, written from its measurements

Everything here waits rather than computes, and every wait is bounded. The clients are
:func:`helpers.core.latency_server.fetch` (blocking, ``urllib``) and
:func:`helpers.core.latency_server.fetch_async` (asyncio streams), both standard library.
"""
