"""Command line of the planner: ``python -m scaling_lab plan|journey``."""

import subprocess
import sys

import pytest

from scaling_lab.__main__ import main
from scaling_lab.planner import COMPONENTS, plan


def test_plan_prints_the_planners_report(capsys):
    assert main(["plan", "--daily-users", "10_000_000"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == plan(1e7).report()
    assert "Capacity plan for 10,000,000 daily active users" in out


def test_options_reach_the_assumptions(capsys):
    main(["plan", "--daily-users", "2e6", "--read-fraction", "0.99", "--availability-target", "none",
          "--user-regions", "Europe, Asia", "--web-workers-per-server", "16"])
    out = capsys.readouterr().out
    expected = plan(2e6, read_fraction=0.99, availability_target=None, user_regions=("Europe", "Asia"),
                    web_workers_per_server=16)
    assert out.strip() == expected.report()
    assert "no target" in out and expected.sites.count >= 2


def test_journey_lists_every_component(capsys):
    assert main(["journey", "--max-users", "1e7", "--availability-target", "none"]) == 0
    out = capsys.readouterr().out
    for c in COMPONENTS:
        assert c.label in out and f"(chapter {c.chapter_number})" in out
    assert "not needed" in out  # sharding comes after ten million users with the defaults


@pytest.mark.parametrize("argv", [["plan"], ["plan", "--daily-users", "-5"], ["plan", "--daily-users", "lots"],
                                  ["plan", "--daily-users", "1e6", "--read-fraction", "2"], ["fly"]])
def test_bad_input_exits_with_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_module_help_runs_as_a_program():
    run = subprocess.run([sys.executable, "-m", "scaling_lab", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "plan" in run.stdout and "journey" in run.stdout


def test_plan_help_lists_the_assumptions(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "--daily-users" in out and "--availability-target" in out
