"""Recordings round-trip, carry their metadata, and stay small."""

from __future__ import annotations

import pandas as pd
import pytest

from scaling_lab.lab.recording import LAB_DATA, machine_info, read_recording, recorded_names, write_recording
from scaling_lab.lab.experiments import EXPERIMENTS


def test_write_and_read_back(tmp_path):
    df = pd.DataFrame({"rho": [0.5, 0.8], "mean": [0.021, 0.04]})
    write_recording("demo", {"summary": df}, {"machine": machine_info()}, root=tmp_path)
    tables, meta = read_recording("demo", root=tmp_path)
    pd.testing.assert_frame_equal(tables["summary"], df)
    for key in ("date", "command", "machine", "tables"):
        assert key in meta
    assert recorded_names(tmp_path) == ["demo"]


def test_unknown_recording_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="name"):
        read_recording("nothing", root=tmp_path)


# Recorded so far only in the quick version (the full one takes about 11 minutes); no chapter
# plots it yet. Remove the entry once `make experiments` has recorded it.
QUICK_ONLY: set[str] = set()


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_recordings_exist_with_metadata_and_are_small(name):
    folder = LAB_DATA / name
    tables, meta = read_recording(name)
    for key in ("cpu_model", "cores", "loadavg_before", "loadavg_after"):
        assert key in meta["machine"]
    for key in ("haproxy", "redis-server", "postgres", "python", "aiohttp", "numpy"):
        assert key in meta["versions"]
    assert meta["command"] and meta["date"]
    assert meta["quick"] == (name in QUICK_ONLY), "a recording is the full version unless listed in QUICK_ONLY"
    for f in folder.iterdir():
        assert f.stat().st_size < 300_000, f"{f} is {f.stat().st_size} bytes"
