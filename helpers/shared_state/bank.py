"""Notebook 06's exercise: a bank whose transfers must not create or destroy money.

:func:`racy_transfer` reads both balances, pauses (as a real system would, to log or
to call a fraud check), then writes both: two transfers that overlap read the same old
balances and one of them is overwritten. :func:`check_transfer` runs a learner's
transfer function from several threads at once and checks that every account holds
what the transfers added up to — money neither created nor lost.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from helpers.core.arguments import require_float
from helpers.core.selfcheck import (
    CheckResult,
    blank,
    first_problem,
    join_within,
    not_answered,
    not_yet,
    stuck_threads,
)

ACCOUNTS = ("alice", "bob", "carol")
START = 1_000
TRANSFER_TIMEOUT = 10.0  # seconds all the threads of one check get, together
MAX_TIMEOUT = 600.0


class TransfersStuck(TimeoutError):
    """Some transfer threads were still running at the deadline: they cannot be stopped."""


@dataclass
class Bank:
    """Balances by account name, and one lock for transfers to share."""

    balances: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACCOUNTS, START))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def total(self) -> int:
        return sum(self.balances.values())


def racy_transfer(bank: Bank, source: str, target: str, amount: int) -> None:
    """Move ``amount`` from ``source`` to ``target`` — with a race between read and write."""
    from_balance, to_balance = bank.balances[source], bank.balances[target]
    time.sleep(0)  # a pause between reading and writing: another transfer can run here
    bank.balances[source] = from_balance - amount
    bank.balances[target] = to_balance + amount


def plan(transfers: int, seed: int = 6) -> list[tuple[str, str, int]]:
    """A fixed list of random transfers between different accounts."""
    rng = random.Random(seed)
    return [(*rng.sample(ACCOUNTS, 2), rng.randint(1, 50)) for _ in range(transfers)]


def expected_balances(transfers: list[tuple[str, str, int]]) -> dict[str, int]:
    """What every account holds after all ``transfers``, in any order."""
    balances = dict.fromkeys(ACCOUNTS, START)
    for source, target, amount in transfers:
        balances[source] -= amount
        balances[target] += amount
    return balances


def run_transfers(transfer: Callable[[Bank, str, str, int], None], threads: int = 4,
                  per_thread: int = 300, timeout: float = TRANSFER_TIMEOUT
                  ) -> tuple[Bank, list[tuple[str, str, int]]]:
    """Run ``threads`` threads at once, each doing its share of a fixed plan.

    All of them together get at most ``timeout`` seconds (one deadline); a
    :class:`TransfersStuck` then says how many were still running — they cannot be stopped.
    """
    timeout = require_float("timeout", timeout, 0.01, MAX_TIMEOUT)
    bank = Bank()
    transfers = plan(threads * per_thread)
    shares = [transfers[i::threads] for i in range(threads)]
    errors: list[BaseException] = []

    def work(share: list[tuple[str, str, int]]) -> None:
        try:
            for source, target, amount in share:
                transfer(bank, source, target, amount)
        except BaseException as error:  # reported by the check
            errors.append(error)

    workers = [threading.Thread(target=work, args=(share,), daemon=True,
                                name=f"transfer-{i}") for i, share in enumerate(shares)]
    for worker in workers:
        worker.start()
    stuck = join_within(workers, timeout)
    if stuck:
        raise TransfersStuck(stuck_threads(len(stuck), len(workers), timeout))
    if errors:
        raise errors[0]
    return bank, transfers


def describe_transfers(transfer: Callable[[Bank, str, str, int], None]) -> str:
    """Run ``transfer`` from four threads at once and say what happened to the bank's
    total (a demonstration, not a self-check: nothing here grades anyone)."""
    bank, transfers = run_transfers(transfer)
    made = bank.total() - START * len(ACCOUNTS)
    said = (f"{len(transfers):,} transfers from 4 threads side by side: the bank's total "
            f"{START * len(ACCOUNTS):,} became {bank.total():,}")
    if made:
        return (f"{said} — money was **{'created' if made > 0 else 'destroyed'}** "
                f"({made:+,}): two transfers read the same balances, and one's write "
                "overwrote the other's.")
    return (f"{said}: nothing lost this time. The race did not show in this run; it can — "
            "run the cell again.")


def check_transfer(transfer: object, timeout: float = TRANSFER_TIMEOUT) -> CheckResult:
    """Exercise: ``transfer(bank, source, target, amount)`` safe when threads overlap.

    The four threads get ``timeout`` seconds together; a transfer that takes the lock and
    never gives it back fails the check after that — and its threads stay blocked.
    """
    timeout = require_float("timeout", timeout, 0.01, MAX_TIMEOUT)
    if blank(transfer):
        return not_answered("define `safe_transfer(bank, source, target, amount)` in place "
                            "of `safe_transfer = ...`, then run this cell again.")
    if not callable(transfer):
        return not_yet(f"`safe_transfer` should be a function, got {type(transfer).__name__}.",
                       "define `def safe_transfer(bank, source, target, amount):`.")
    try:
        bank, transfers = run_transfers(transfer, timeout=timeout)
    except TransfersStuck as error:  # not the learner's own TimeoutError, if one is raised
        return not_yet(f"{error}.", "take `bank.lock` with a `with` block, so it is always "
                       "released.")
    except Exception as error:  # a wrong answer must not stop "Run all"
        return not_yet(f"running your transfers raised {type(error).__name__}: {error}",
                       "take `bank.lock` with a `with` block, so it is always released.")
    expected = expected_balances(transfers)
    made = bank.total() - START * len(ACCOUNTS)
    return first_problem([
        (made == 0, f"the bank's total changed by {made:+,}: money was "
         f"{'created' if made > 0 else 'destroyed'} by overlapping transfers.",
         "hold `bank.lock` from before you read the balances until after you wrote both."),
        (bank.balances == expected, f"the balances are {bank.balances}, expected {expected}.",
         "subtract from the source and add to the target, both under the lock."),
    ], f"{len(transfers):,} transfers from 4 threads side by side: every cent accounted "
       "for.")
