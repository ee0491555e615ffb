"""``python -m scaling_lab lab list|run NAME [--quick]``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scaling_lab.lab.cli import main


def test_list_names_every_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("single-server", "model-breaks", "scaling-curve"):
        assert name in out


def test_unknown_experiment_is_an_error(capsys):
    with pytest.raises(SystemExit):
        main(["run", "no-such-experiment", "--quick"])
    assert "name must be one of" in capsys.readouterr().err


def test_module_entry_point_reaches_the_lab():
    out = subprocess.run([sys.executable, "-m", "scaling_lab", "lab", "list"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "scaling-curve" in out.stdout
