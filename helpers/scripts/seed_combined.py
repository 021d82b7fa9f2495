import threading
import multiprocessing
import time


# Example of CPU-bound task
def cpu_bound_task(number):
    result = 0
    for _ in range(number):
        result += 1
    print(f"CPU-bound result: {result}")

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
run_multithreading()

print("\nRunning Multiprocessing Example:")
run_multiprocessing()
