"""Part 3 · a server under simultaneous requests: throughput, p50 and p95.

``load_test`` starts K client threads at once against a
:class:`~helpers.core.latency_server.LatencyServer`; ``measure_server_modes`` repeats it
for each server mode (one request at a time, a thread per request, asyncio).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.core import noise
from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.colours import OKABE_ITO, ORANGE, SKY_BLUE, VERMILLION
from helpers.core.latency_server import MODES, LatencyServer, fetch
from helpers.core.plots import finish_figure
from helpers.core.settings import default
from helpers.core.words import FASTER, plural

MAX_CLIENTS = 64
MODE_COLOURS = {"single": VERMILLION, "threading": ORANGE, "asyncio": SKY_BLUE}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by the nearest-rank method."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(q / 100 * len(ranked)) - 1)]


@dataclass
class LoadResult:
    """``clients`` threads, each sending requests one after another to one server."""

    mode: str
    clients: int
    latency_s: float
    wall: float
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    cpu: float = 0.0  # CPU seconds of this process and the server's together
    load: noise.MachineLoad | None = None  # what other programs did meanwhile

    def disturbance(self) -> str:
        """The **disturbed** sentence when other programs left fewer CPUs than the clients
        and the server needed at the pace one latency a request allows, else ``''``."""
        ideal = self.requests / self.clients * self.latency_s
        needed = self.cpu / ideal if ideal > 0 else 0.0
        return noise.busy_sentence(self.load, round(needed, 1),
                                   f"the {self.mode} server with {plural(self.clients, 'client')}")

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Requests answered per second."""
        return self.requests / self.wall

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 95)


def _client(urls: list[str]) -> list[float]:
    """One client: fetch ``urls`` one after another; the time each took (s)."""
    times = []
    for url in urls:
        start = time.perf_counter()
        fetch(url, timeout=30)
        times.append(time.perf_counter() - start)
    return times


def load_test(server: LatencyServer, clients: int, requests_per_client: int = 3,
              timeout: float = 60.0) -> LoadResult:
    """Start ``clients`` threads at once, each sending ``requests_per_client`` requests."""
    require_int("clients", clients, 1, MAX_CLIENTS)
    require_int("requests_per_client", requests_per_client, 1, 100)
    timeout = require_float("timeout", timeout, 0.1, 600)
    urls = server.urls(requests_per_client)
    with ThreadPoolExecutor(clients) as pool, noise.watch_load() as watch:
        server_cpu, cpu = server.cpu_seconds(), time.process_time()
        start = time.perf_counter()
        futures = [pool.submit(_client, urls) for _ in range(clients)]
        done, pending = wait(futures, timeout=timeout)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu + server.cpu_seconds() - server_cpu
        if pending:
            raise TimeoutError(f"{len(pending)} clients still waiting after {timeout} s")
    latencies = [t for future in futures for t in future.result()]
    return LoadResult(server.mode, clients, server.latency_ms / 1000, wall, latencies, cpu,
                      watch.load)


def measure_server_modes(clients: Sequence[int], modes: Sequence[str] = MODES,
                         latency_ms: float = 50, requests_per_client: int | None = None,
                         on_progress: Callable | None = None) -> dict[str, list[LoadResult]]:
    """:func:`load_test` for each server mode and each number of clients
    (``requests_per_client``: 3, or 2 in quick mode)."""
    requests_per_client = int(default(3, 2)) if requests_per_client is None else (
        requests_per_client)
    for count in clients:
        require_int("clients", count, 1, MAX_CLIENTS)
    results: dict[str, list[LoadResult]] = {}
    steps, done = len(modes) * len(clients), 0
    for mode in modes:
        with LatencyServer(latency_ms=latency_ms, mode=require_choice("mode", mode, MODES)) as s:
            results[mode] = []
            for count in clients:
                results[mode].append(load_test(s, count, requests_per_client))
                done += 1
                if on_progress is not None:
                    on_progress(done, steps)
    return results


def describe_load(results: Mapping[str, list[LoadResult]]) -> str:
    """Markdown: each mode at the most clients, and the gap between the best and worst."""
    lines = []
    for mode, runs in results.items():
        last = runs[-1]
        lines.append(f"- **{mode}** with {plural(last.clients, 'client')}: "
                     f"{last.throughput:.0f} requests/s, p50 {last.p50 * 1000:.0f} ms, "
                     f"p95 {last.p95 * 1000:.0f} ms (latency {last.latency_s * 1000:.0f} ms).")
    last_runs = {mode: runs[-1] for mode, runs in results.items()}
    disturbed = [r.disturbance() for runs in results.values() for r in runs]
    if any(disturbed):
        return "\n".join(lines + ["- " + next(s for s in disturbed if s)])
    best = max(last_runs, key=lambda m: last_runs[m].throughput)
    worst = min(last_runs, key=lambda m: last_runs[m].throughput)
    gain = last_runs[best].throughput / last_runs[worst].throughput
    single = last_runs.get("single")
    queued = single is not None and single.clients > 1 and (
        single.throughput <= FASTER / single.latency_s)  # about one request per latency
    if gain >= FASTER and queued and worst == "single":
        lines.append(f"- **{best}** answered {gain:.1f}× as many requests per second as "
                     f"**{worst}**, which stayed near one request per latency "
                     f"({1 / single.latency_s:.0f}/s): it handles one request at a time, so "
                     "every other client queues, and the queue shows up in the p95.")
    elif gain >= FASTER:
        lines.append(f"- **{best}** answered {gain:.1f}× as many requests per second as "
                     f"**{worst}** here.")
    else:
        lines.append(f"- All modes served about the same rate here ({gain:.2f}× between the "
                     "best and the worst).")
    return "\n".join(lines)


def plot_load(results: Mapping[str, list[LoadResult]]) -> Figure:
    """Throughput and p50/p95 response time against the number of clients, per mode."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (mode, runs) in enumerate(results.items()):
        colour = MODE_COLOURS.get(mode, OKABE_ITO[i % len(OKABE_ITO)])
        counts = [r.clients for r in runs]
        left.plot(counts, [r.throughput for r in runs], marker="o", color=colour, label=mode)
        right.plot(counts, [r.p95 * 1000 for r in runs], marker="o", color=colour,
                   label=f"{mode} p95")
        right.plot(counts, [r.p50 * 1000 for r in runs], marker="x", linestyle=":",
                   color=colour, label=f"{mode} p50")
    for ax in (left, right):
        ax.set_xlabel("clients sending at the same time")
        ax.set_xticks(counts)
        ax.set_ylim(bottom=0)
    left.set_ylabel("throughput (requests/s)")
    left.set_title("Requests answered per second")
    right.set_ylabel("response time (ms)")
    right.set_title("Response time: median (p50) and p95")
    left.legend(fontsize=8)
    right.legend(fontsize=7, ncol=2)
    return finish_figure(fig)
