# Solution to exercise 1
def safe_transfer(bank, source, target, amount):
    with bank.lock:  # from before the reads until after both writes
        from_balance, to_balance = bank.balances[source], bank.balances[target]
        bank.balances[source] = from_balance - amount
        bank.balances[target] = to_balance + amount
