"""Notebook 06 · shared state: races, locks, queues, deadlock.

``races``           lost updates counted, the lock that fixes them
``pipelines``       producer/consumer queues with sentinels and back-pressure
``deadlock``        two locks in opposite orders, detected by timeouts
``process_sharing`` a counter shared between processes, five ways
``coordination``    Event, Semaphore, threading.local; what is atomic
``bank``            the exercise: transfers that must not create money
``summary``         the closing key points, from this notebook's measurements
"""
