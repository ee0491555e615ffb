"""Command line of the planner: ``python -m scaling_lab plan|journey``."""

import io
import json
import subprocess
import sys
from dataclasses import fields

import pandas as pd
import pytest

from scaling_lab.__main__ import main
from scaling_lab.planner import COMPONENTS, Assumptions, cost_band, plan
from scaling_lab.planner.report import plan_to_dict


def test_plan_prints_the_planners_report(capsys):
    assert main(["plan", "--daily-users", "10_000_000"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == plan(1e7).report()
    assert "Capacity plan for 10,000,000 daily active users" in out


def test_options_reach_the_assumptions(capsys):
    main(["plan", "--daily-users", "2e6", "--read-fraction", "0.99", "--availability-target", "none",
          "--user-regions", "Europe, Asia", "--n-plus-two-above", "16", "--web-family", "c6i"])
    out = capsys.readouterr().out
    expected = plan(2e6, read_fraction=0.99, availability_target=None, user_regions=("Europe", "Asia"),
                    n_plus_two_above=16, web_family="c6i")
    assert out.strip() == expected.report()
    assert "no target" in out and expected.sites.count >= 2


def test_journey_lists_every_component_in_the_order_they_enter(capsys):
    assert main(["journey", "--max-users", "1e7", "--availability-target", "none"]) == 0
    out = capsys.readouterr().out
    for c in COMPONENTS:
        assert c.label in out and f"(chapter {c.chapter_number})" in out
    assert "not needed" in out  # sharding comes after ten million users with the defaults
    assert main(["journey", "--max-users", "1e7", "--availability-target", "none", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    users = [r["daily_users"] for r in rows if r["daily_users"] is not None]
    assert users == sorted(users) and len(rows) == len(COMPONENTS)


def test_plan_as_json_and_csv(capsys):
    main(["plan", "--daily-users", "1e6", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(plan_to_dict(plan(1e6))))
    assert set(data["assumptions"]) == {f.name for f in fields(Assumptions)}
    main(["plan", "--daily-users", "1e6", "--format", "csv"])
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table["web_servers"].item() == plan(1e6).web.count


def test_plan_band_and_sensitivity(capsys):
    main(["plan", "--daily-users", "1e6", "--band", "20", "--format", "json"])
    band = json.loads(capsys.readouterr().out)["cost_band"]["monthly_cost"]
    assert band == sorted(band) and band == list(cost_band(1e6, n_samples=20, seed=0).monthly_cost)
    main(["sensitivity", "--daily-users", "1e6", "--format", "csv"])
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table["swing"].is_monotonic_decreasing and "requests_per_user" in set(table["assumption"])


@pytest.mark.parametrize("argv", [["plan"], ["plan", "--daily-users", "-5"], ["plan", "--daily-users", "lots"],
                                  ["plan", "--daily-users", "1e6", "--read-fraction", "2"], ["fly"],
                                  ["plan", "--daily-users", "1e6", "--format", "xml"]])
def test_bad_input_exits_with_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error" in err
    if argv[:1] == ["plan"]:
        assert "usage: python -m scaling_lab plan" in err  # the subcommand's own usage


def test_module_help_runs_as_a_program():
    run = subprocess.run([sys.executable, "-m", "scaling_lab", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "plan" in run.stdout and "journey" in run.stdout


def test_plan_help_lists_the_assumptions(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "--daily-users" in out and "--availability-target" in out
