# Solution to exercise 1
from helpers.threads.basics import clear_guestbook, guestbook, sign_guestbook

clear_guestbook()
guests = [threading.Thread(target=sign_guestbook, args=(name,), name=name)
          for name in ("guest-1", "guest-2", "guest-3")]
for guest in guests:
    guest.start()
for guest in guests:
    guest.join(timeout=5)
print(guestbook())
