# Solution to exercise 1
speeds_up = {
    "count": (False, True),    # holds the GIL: parallel only without one
    "hash": (True, True),      # hashlib releases the GIL on 1 MiB updates
    "hash-1k": (False, True),  # 1 KiB updates are too small: hashlib keeps the GIL
    "sleep": (True, True),     # waiting releases the GIL: waits overlap anyway
}
