"""The job and the plan: the default choices, bad stages refused, missing stages serial."""
from __future__ import annotations

import pytest

from helpers.capstone.plan import check_stages, default_choices, reference_stages

from .fakes import small_job


def test_default_choices_include_the_reference():
    choices = default_choices(small_job())
    assert list(choices)[0] == "all serial"
    assert choices["threads + processes"] == check_stages(reference_stages(small_job()))


@pytest.mark.parametrize("stages, words", [
    ({"download": "threads"}, "stages must only name stages"),
    ({"fetch": "fibres"}, r"stages\['fetch'\] must be a kind"),
    ({"fetch": ("threads", 0)}, r"workers of stages\['fetch'\] must be from 1"),
    ({"fetch": ("threads", 2, 3)}, "pair"),
    (["threads"], "stages must be a dict"),
])
def test_bad_stages_are_refused_with_the_allowed_values(stages, words):
    with pytest.raises(ValueError, match=words):
        check_stages(stages)


def test_missing_stages_stay_serial_and_serial_has_one_worker():
    plan = check_stages({"compute": ("processes", 3), "parse": ("serial", 5)})
    assert plan["fetch"] == ("serial", 1) and plan["parse"] == ("serial", 1)
    assert plan["compute"] == ("processes", 3)
