"""The plan is its steps: every derived number is read off the tiers, a new step is a new tier."""

from dataclasses import fields

import joblib
import numpy as np
import pytest

from scaling_lab.planner import Assumptions, Plan, Tier, entry_points, plan, resolve_assumptions, steps, sweep
from scaling_lab.planner.assumptions import assumption_help
from scaling_lab.planner.chapters import CHAPTERS
from scaling_lab.planner.cli import build_parser
from scaling_lab.planner.report import plan_to_dict
from scaling_lab.planner.steps import STEPS, Step


@pytest.mark.parametrize("users", [1.0, 3e5, 1e7, 3e8])
def test_plan_totals_are_sums_over_the_steps(users):
    p = plan(users)
    assert list(p.tiers) == [s.name for s in STEPS]
    assert p.monthly_cost == pytest.approx(sum(p.tiers[s.name].monthly_cost for s in STEPS if s.priced))
    assert p.machines == sum(p.tiers[s.name].count for s in STEPS if s.machines)
    assert p.availability == pytest.approx(1 - sum(p.tiers[s.name].unavailability for s in STEPS if s.in_series))
    for s in STEPS:
        t = getattr(p, s.name)
        assert isinstance(t, Tier) and t.name == s.name and t.chapter == s.chapter and t.reason
        assert t.utilization is None or 0 < t.utilization <= 1
        if s.count_column:
            assert p.counts()[s.count_column] == t.count


def test_tier_values_read_as_attributes_and_unknown_names_raise():
    p = plan(1e7)
    assert p.web.workers == p.web.values["workers"]
    with pytest.raises(AttributeError, match="no_such_value"):
        p.web.no_such_value
    with pytest.raises(AttributeError, match="no_such_tier"):
        p.no_such_tier


def test_a_new_tier_is_one_step(monkeypatch):
    class Pager(Step):
        name, label, chapter = "pager", "on-call pager", "logging-metrics-automation"
        count_column, priced = "pagers", True

        def size(self, users, a, tiers):
            return Tier(count=1, monthly_cost=21.0, reason="someone must be woken up")

    base = plan(1e6)
    monkeypatch.setattr(steps, "STEPS", STEPS + (Pager(),))
    p = plan(1e6)
    assert p.pager.count == 1 and p.cost["on-call pager"] == 21.0
    assert p.monthly_cost == pytest.approx(base.monthly_cost + 21.0)
    assert p.counts()["pagers"] == 1 and "on-call pager" in p.report() and "pager" in plan_to_dict(p)["tiers"]


@pytest.mark.parametrize("call", [lambda: plan(1e6, bogus=1), lambda: sweep([1e6], bogus=1),
                                  lambda: entry_points(bogus=1), lambda: resolve_assumptions(None, {"bogus": 1})])
def test_every_entry_rejects_unknown_assumptions_by_name(call):
    with pytest.raises(ValueError, match="bogus"):
        call()


@pytest.mark.parametrize("call", [lambda: plan(1e6, read_fraction=2), lambda: sweep([1e6], read_fraction=2),
                                  lambda: entry_points(read_fraction=2)])
def test_every_entry_checks_override_values(call):
    with pytest.raises(ValueError, match="read_fraction"):
        call()


def test_assumptions_argument_must_be_assumptions():
    with pytest.raises(ValueError, match="assumptions"):
        plan(1e6, {"read_fraction": 0.5})


def test_sensitivity_and_band_are_exact_at_the_plan_and_reproducible():
    from scaling_lab.planner import cost_band, sensitivity
    p = plan(1e6)
    flat = sensitivity(1e6, rel=0.0, names=["requests_per_user", "read_fraction"])
    assert np.allclose(flat[["cost_low", "cost_high"]].to_numpy(), p.monthly_cost) and (flat["swing"] == 0).all()
    row = sensitivity(1e6, names=["requests_per_user"]).iloc[0]
    assert row["cost_high"] == pytest.approx(plan(1e6, requests_per_user=36.0).monthly_cost)
    point = cost_band(1e6, n_samples=5, users_sd=0, service_time_sd=0, miss_ratio_sd=0)
    assert point.monthly_cost == pytest.approx((p.monthly_cost,) * 3)
    band = cost_band(1e6, n_samples=30, seed=4)
    assert band.monthly_cost[0] < p.monthly_cost < band.monthly_cost[2]
    with joblib.parallel_config(backend="loky", n_jobs=2):
        assert cost_band(1e6, n_samples=30, seed=4).monthly_cost == band.monthly_cost
    with pytest.raises(ValueError, match="names"):
        sensitivity(1e6, names=["web_family"])


def test_sweep_on_processes_gives_the_serial_numbers():
    users = np.logspace(2, 8, 7)
    serial = sweep(users)
    with joblib.parallel_config(backend="loky", n_jobs=2):
        parallel = sweep(users)
    assert serial.equals(parallel)
    assert serial["web_servers"].tolist() == [plan(u).web.count for u in users]


def test_docstring_and_cli_help_come_from_the_declarations():
    parser = build_parser()
    help_text = parser._subparsers._group_actions[0].choices["plan"].format_help()
    flat = " ".join(help_text.split())
    for f in fields(Assumptions):
        text = assumption_help(f.name)
        assert text in " ".join(Assumptions.__doc__.split())
        assert "--" + f.name.replace("_", "-") in help_text
        assert " ".join(text.split()[:4]) in flat


@pytest.mark.parametrize("kwargs, name", [
    ({"count": -1}, "count"), ({"count": 2.5}, "count"), ({"count": np.nan}, "count"), ({"count": 2**63}, "count"),
    ({"count": [1, 2]}, "count"), ({"count": "3"}, "count"), ({"count": True}, "count"),
    ({"monthly_cost": -1.0}, "monthly_cost"), ({"monthly_cost": np.inf}, "monthly_cost"),
    ({"monthly_cost": None}, "monthly_cost"), ({"utilization": -0.1}, "utilization"),
    ({"utilization": np.nan}, "utilization"), ({"unavailability": 1.5}, "unavailability"),
    ({"unavailability": [0.1]}, "unavailability"), ({"chapter": "load-balancers"}, "chapter"),
])
def test_tier_refuses_bad_numbers_by_name(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Tier(**kwargs)


def test_a_tier_not_yet_named_has_no_chapter_number():
    assert Tier(count=2).chapter_number is None
    assert Tier(chapter="cache").chapter_number == CHAPTERS.index("cache") + 1
