"""helpers.start_here: notebook 00's sentence, widget check and version table."""
from helpers.core.runner import run_tasks
from helpers.start_here import describe_first_run, package_versions, widget_check


def test_the_first_run_is_described_from_its_own_numbers():
    run = run_tasks("count", executor="serial", tasks=1, size=200_000, repeats=2)
    text = describe_first_run(run)
    assert f"{run.size:,} loop iterations" in text and "median of 2" in text
    assert f"{run.cpu * 1000:.0f} ms of CPU time" in text
    assert f"{run.size / run.wall / 1e6:.0f} million iterations per second" in text


def test_the_widget_check_follows_its_slider_and_caps_at_the_cpus():
    slider, answer = widget_check(effective_cpus=1)
    assert answer.value == "2 workers → at most 1× faster here"
    slider.value = 5
    assert answer.value == "5 workers → at most 1× faster here"
    assert widget_check(effective_cpus=4)[1].value == "2 workers → at most 2× faster here"


def test_versions_name_each_package_and_say_when_one_is_missing():
    text = package_versions(("ipywidgets", "no-such-package-here"))
    lines = text.splitlines()
    assert lines[0].startswith("ipywidgets") and lines[0].split()[1][0].isdigit()
    assert lines[1].endswith("not installed")
