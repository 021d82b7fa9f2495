# THE LAB'S COPY, NOT THE ARTICLE'S CODE. The article's "Multiprocessing and Threading
# Example" (helpers/scripts/seed_combined.py, verbatim) times only the sleep, from inside
# io_bound_task. This copy adds timers, on the lines marked "# lab:", so that a run shows
# what the article never measured: how long the count takes, and how long each example
# takes in all. Every other line is the article's.
import threading
import multiprocessing
import time


# Example of CPU-bound task
def cpu_bound_task(number):
    count_start = time.perf_counter()  # lab: timer
    result = 0
    for _ in range(number):
        result += 1
    print(f"CPU-bound result: {result}")
    elapsed = time.perf_counter() - count_start  # lab: timer
    print(f"Counting took {elapsed} seconds (lab's timer)")  # lab: timer

# Example of I/O-bound task
def io_bound_task():
    start_time = time.time()
    # Simulating a network request or file operation
    time.sleep(2)
    end_time = time.time()
    print(f"I/O-bound task completed in {end_time - start_time} seconds")

# Multithreading example
def run_multithreading():
    thread1 = threading.Thread(target=cpu_bound_task, args=(10**7,))
    thread2 = threading.Thread(target=io_bound_task)

    thread1.start()
    thread2.start()

    thread1.join()
    thread2.join()

# Multiprocessing example
def run_multiprocessing():
    process1 = multiprocessing.Process(target=cpu_bound_task, args=(5*10**6,))
    process2 = multiprocessing.Process(target=io_bound_task)

    process1.start()
    process2.start()

    process1.join()
    process2.join()

# Testing the examples
print("Running Multithreading Example:")
example_start = time.perf_counter()  # lab: timer
run_multithreading()
elapsed = time.perf_counter() - example_start  # lab: timer
print(f"Multithreading example took {elapsed} seconds in all (lab's timer)")  # lab: timer

print("\nRunning Multiprocessing Example:")
example_start = time.perf_counter()  # lab: timer
run_multiprocessing()
elapsed = time.perf_counter() - example_start  # lab: timer
print(f"Multiprocessing example took {elapsed} seconds in all (lab's timer)")  # lab: timer
