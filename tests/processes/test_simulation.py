"""helpers.processes.simulation: the random walk is right (both versions agree exactly and
diffuse as theory says), bad input names its parameter, threads overlap numpy but not pure
Python, and the words follow the measurement: idle, busy, 1 CPU, beyond the ideal."""
import pytest
from matplotlib.figure import Figure

from helpers.core.experiments import Comparison
from helpers.core.noise import MachineLoad, run_disturbed
from helpers.core.runner import RunResult, run_tasks
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.processes import simulation as sim

MECHANISMS = ("GIL", "interpreter", "pickle", "overhead", "hand to another process")


# --- the simulation is right --------------------------------------------------------------

@pytest.mark.parametrize("walkers, steps, seed", [
    (1, 1, 0), (7, 50, 3), (300, 200, 0), (sim.BLOCK + 5, 3, 11),  # more than one block
])
def test_both_versions_walk_exactly_the_same_particles(walkers, steps, seed):
    assert sim.walk_python(walkers, steps, seed) == sim.walk_numpy(walkers, steps, seed)


def test_one_step_moves_every_walker_by_exactly_one():
    assert sim.walk_python(50, 1) == sim.walk_numpy(50, 1) == 50


def test_two_steps_end_at_0_or_2_from_the_start():
    total = sim.walk_numpy(1000, 2)
    assert total % 4 == 0 and 0 < total < 4000  # each squared position is 0 or 4


def test_the_walk_diffuses_as_theory_says():
    walkers, steps = 200_000, 200
    msd = sim.walk_numpy(walkers, steps, seed=5) / walkers
    spread = steps * (2 / walkers) ** 0.5  # standard error of a mean of squared normals
    assert abs(msd - steps) < 5 * spread


def test_seeds_give_different_walks_and_the_same_seed_the_same():
    assert sim.walk_numpy(2000, 20, 1) == sim.walk_numpy(2000, 20, 1)
    assert sim.walk_numpy(2000, 20, 1) != sim.walk_numpy(2000, 20, 2)


@pytest.mark.parametrize("call, name", [
    (lambda: sim.walk_python(0), "walkers"),
    (lambda: sim.walk_python(sim.PYTHON_WALKERS[1] + 1), "walkers"),
    (lambda: sim.walk_numpy(sim.NUMPY_WALKERS[1] + 1), "walkers"),
    (lambda: sim.walk_numpy(10, steps=0), "steps"),
    (lambda: sim.walk_python(10, steps=sim.MAX_STEPS + 1), "steps"),
    (lambda: sim.walk_numpy(10, seed=-1), "seed"),
    (lambda: sim.walk_python("ten"), "walkers"),
    (lambda: sim.default_walkers("fortran"), "version"),
    (lambda: sim.measure_simulation(python_walkers=0), "python_walkers"),
    (lambda: sim.measure_simulation(numpy_walkers=10**9), "numpy_walkers"),
    (lambda: sim.measure_simulation(workers=0), "workers"),
    (lambda: sim.measure_simulation(tasks=0), "tasks"),
    (lambda: sim.measure_simulation(repeats=0), "repeats"),
    (lambda: sim.describe_simulation({}), "comparisons"),
    (lambda: sim.plot_simulation({}), "comparisons"),
])
def test_bad_arguments_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_quick_mode_shrinks_the_default_sizes(monkeypatch):
    monkeypatch.setenv("LAB_QUICK", "0")
    full = {version: sim.default_walkers(version) for version in sim.VERSIONS}
    monkeypatch.setenv("LAB_QUICK", "1")
    for version in sim.VERSIONS:
        assert sim.default_walkers(version) < full[version]


# --- measured -------------------------------------------------------------------------------

def test_every_executor_computes_the_same_walk(no_leftover_processes):
    comparisons = sim.measure_simulation(60, 3000, workers=2, tasks=2, repeats=1)
    assert list(comparisons) == [sim.PYTHON, sim.NUMPY]
    for version, comparison in comparisons.items():
        assert list(comparison.runs) == list(sim.EXECUTORS)
        expected = sim.VERSIONS[version](comparison.baseline.size)
        for run in comparison.runs.values():
            assert run.results == [expected, expected]
    text = sim.describe_simulation(comparisons).text
    assert "pure Python" in text and "numpy" in text
    assert isinstance(sim.plot_simulation(comparisons), Figure)


@pytest.mark.skipif(not gil_enabled(), reason="pure-Python threads overlap without a GIL")
def test_threads_overlap_numpy_but_not_pure_python():
    options = dict(executor="threads", workers=2, tasks=4, repeats=3)
    python = run_tasks(sim.walk_python, size=2500, **options)
    assert python.utilisation < 1.3  # the GIL: one thread runs Python at a time
    if effective_cpu_count() < 2:
        return
    undisturbed = []
    for _ in range(4):  # other programs may take the second CPU: keep undisturbed runs
        run = run_tasks(sim.walk_numpy, size=500_000, **options)
        if not run_disturbed(run):
            undisturbed.append(run.utilisation)
            if run.utilisation > max(1.4, python.utilisation + 0.3):
                break
    if not undisturbed:
        pytest.skip("every numpy run was disturbed by other programs: nothing to conclude")
    busy = max(undisturbed)
    assert busy > 1.4 and busy > python.utilisation + 0.3


# --- the words, from fake measurements ------------------------------------------------------

def fake_run(version: str, executor: str, gain: float, busy: float, serial_wall: float = 1.0,
             others: float = 0.0, cpus: int = 2) -> RunResult:
    """A RunResult of 4 tasks on 2 workers that ran ``gain``× serial with ``busy`` CPUs."""
    wall = serial_wall / gain
    walkers = sim.default_walkers(version)
    return RunResult(sim.VERSIONS[version].__name__, executor,
                     1 if executor == "serial" else 2, 4, walkers, None,
                     walls=[wall] * 3, cpus=[wall * busy] * 3,
                     results=[walkers * sim.STEPS] * 4, load=MachineLoad(others, cpus))


def fake(python: dict, numpy_: dict, cpus: int = 2, others: float = 0.0
         ) -> dict[str, Comparison]:
    """Both versions' comparisons: ``{executor: (gain, CPUs busy)}`` for threads, processes."""
    out = {}
    for version, gains in ((sim.PYTHON, python), (sim.NUMPY, numpy_)):
        runs = {"serial": fake_run(version, "serial", 1.0, 1.0, others=others, cpus=cpus)}
        for name, (gain, busy) in gains.items():
            runs[name] = fake_run(version, name, gain, busy, others=others, cpus=cpus)
        out[version] = Comparison(runs, cpus)
    return out


IDLE = fake({"threads": (1.0, 1.0), "processes": (1.9, 1.95)},
            {"threads": (1.8, 1.85), "processes": (1.85, 1.9)})


def test_idle_two_cpus_the_words_say_what_numpy_changes():
    text = sim.describe_simulation(IDLE, gil=True).text
    assert "disturbed" not in text
    assert "1.00× (pure Python) to 1.80× (numpy)" in text
    assert "one thread at a time run Python bytecode" in text
    assert "Processes sped both versions up (1.90× pure Python, 1.85× numpy)" in text


def test_a_busy_machine_is_called_disturbed_and_explained_by_nothing():
    busy = fake({"threads": (1.0, 1.0), "processes": (1.1, 1.1)},
                {"threads": (1.1, 1.1), "processes": (1.1, 1.1)}, others=1.0)
    lines = sim.describe_simulation(busy, gil=True).lines
    verdict = " ".join(lines[3:])
    assert "**disturbed**" in verdict and "run it again" in verdict
    assert not any(word in verdict for word in MECHANISMS)
    assert "What numpy changes" not in verdict
    assert "other runs were **disturbed** too" in verdict


def test_one_cpu_promises_no_speedup():
    one = fake({"threads": (0.98, 1.0), "processes": (0.95, 1.0)},
               {"threads": (1.0, 1.0), "processes": (0.97, 1.0)}, cpus=1)
    text = sim.describe_simulation(one, gil=True).text
    assert "1 effective CPU" in text and "only on 2 or more CPUs" in text
    assert "disturbed" not in text and "What numpy changes" not in text
    assert "sped" not in text


def test_a_speedup_on_one_cpu_is_disturbed_not_parallel():
    one = fake({"threads": (1.0, 1.0), "processes": (1.6, 1.0)},
               {"threads": (1.0, 1.0), "processes": (1.0, 1.0)}, cpus=1)
    text = sim.describe_simulation(one, gil=True).text
    assert "**disturbed**" in text and "more than 1 CPU can give" in text
    assert not any(word in " ".join(text.splitlines()[3:]) for word in MECHANISMS)


def test_beyond_the_ideal_is_disturbed():
    beyond = fake({"threads": (1.0, 1.0), "processes": (1.9, 1.9)},
                  {"threads": (2.7, 1.9), "processes": (1.9, 1.9)})
    text = sim.describe_simulation(beyond, gil=True).text
    assert "Numpy threads ran 2.70× serial, more than 2 CPUs can give" in text
    assert "**disturbed**" in text and "What numpy changes" not in text


def test_without_a_gil_pure_python_threads_may_gain():
    free = fake({"threads": (1.8, 1.9), "processes": (1.9, 1.9)},
                {"threads": (1.8, 1.9), "processes": (1.9, 1.9)})
    text = sim.describe_simulation(free, gil=False).text
    assert "The GIL is off" in text and "What numpy changes" not in text


def test_numpy_threads_that_did_not_gain_are_not_explained_by_the_gil():
    flat = fake({"threads": (1.0, 1.0), "processes": (1.9, 1.9)},
                {"threads": (1.05, 1.1), "processes": (1.9, 1.9)})
    text = sim.describe_simulation(flat, gil=True).text
    assert "did not speed numpy up" in text and "What numpy changes" not in text


def test_the_plot_holds_every_bar_and_its_ideal():
    beyond = fake({"threads": (1.0, 1.0), "processes": (1.9, 1.9)},
                  {"threads": (3.4, 1.9), "processes": (1.9, 1.9)})
    ax = sim.plot_simulation(beyond).axes[0]
    assert ax.get_ylim()[1] > 3.4
    assert "disturbed" in ax.get_title()
    assert "disturbed" not in sim.plot_simulation(IDLE).axes[0].get_title()
    colours = {patch.get_facecolor() for patch in ax.patches}
    assert len(colours) == 3  # serial, threads, processes: one colour each


def test_the_key_point_gives_the_measured_speedups_or_says_disturbed():
    point = sim.simulation_key_point(IDLE)
    assert point == ("On the random walk (section 7, 2 effective CPUs), threads ran pure Python "
                     "1.00× and numpy 1.80× as fast as serial; processes 1.90× and 1.85×.")
    busy = fake({"threads": (1.0, 1.0), "processes": (1.1, 1.1)},
                {"threads": (1.1, 1.1), "processes": (1.1, 1.1)}, others=1.0)
    assert "**disturbed**" in sim.simulation_key_point(busy)
    assert "×" not in sim.simulation_key_point(busy)
    with pytest.raises(ValueError, match="comparisons"):
        sim.simulation_key_point({})
