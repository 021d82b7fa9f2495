"""One instance of a small CPU-bound program: add 1, NUMBER times, then report.

Usage: ``python count_instance.py NUMBER``. Prints one line of JSON: the count,
this process's id, and the CPU seconds it used. Notebook 05 starts several
copies of it at once, the way a shell script or a job scheduler would.
"""
import json
import os
import sys
import time


def main() -> None:
    number = int(sys.argv[1])
    total = 0
    for _ in range(number):
        total += 1
    print(json.dumps({"count": total, "pid": os.getpid(), "cpu": time.process_time()}))


if __name__ == "__main__":
    main()
