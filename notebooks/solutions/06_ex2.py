# Solution to exercise 2
# 2 threads: the pause is a call, where the other thread can read the same old value.
# 1 thread: nobody else reads between its read and its write.
guesses = {2: True, 1: False}
