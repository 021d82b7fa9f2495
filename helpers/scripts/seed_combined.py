# The seed article's "combined example" ("Python: A Guide to Multithreading vs.
# Multiprocessing"), carried as the article wrote it. Notebook 03 runs it under
# each start method to show what is wrong with it; seed_combined_fixed.py beside
# it is the corrected version. Do not "fix" this file.
import multiprocessing
import threading
import time


def cpu_bound_task(number):
    result = 0
    for i in range(number):
        result += 1
    print(f"CPU-bound task result: {result}")


def io_bound_task():
    start_time = time.time()
    time.sleep(2)
    end_time = time.time()
    print(f"IO-bound task completed in {end_time - start_time} seconds")


# Multithreading
start_time = time.time()
thread1 = threading.Thread(target=cpu_bound_task, args=(10**7,))
thread2 = threading.Thread(target=io_bound_task)
thread1.start()
thread2.start()
thread1.join()
thread2.join()
end_time = time.time()
print(f"Multithreading time: {end_time - start_time} seconds")

# Multiprocessing
start_time = time.time()
process1 = multiprocessing.Process(target=cpu_bound_task, args=(5 * 10**6,))
process2 = multiprocessing.Process(target=io_bound_task)
process1.start()
process2.start()
process1.join()
process2.join()
end_time = time.time()
print(f"Multiprocessing time: {end_time - start_time} seconds")
