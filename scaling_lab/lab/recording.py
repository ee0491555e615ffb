"""Recordings: an experiment's tables as CSV plus a metadata file, under ``data/lab/<name>/``.

A measurement means nothing without the machine it ran on, so every recording
carries ``meta.json``: CPU model and cores, the load average before and after
the run (a run beside other jobs is a different experiment), the version of
every component (kernel, Python, HAProxy, Redis, PostgreSQL, aiohttp, numpy,
scaling_lab), whether real-time scheduling was available, the date, and the
exact command.  The book plots these files; it never starts a server.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd

from .postgres import postgres_bindir
from .process import realtime_available

__all__ = ["LAB_DATA", "machine_info", "component_versions", "write_recording", "read_recording",
           "recorded_names"]

LAB_DATA = Path(__file__).resolve().parents[2] / "data" / "lab"


def _first_line(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else None


def component_versions() -> dict:
    """Versions of everything a lab run touches (``None`` where a component is missing)."""
    bindir = postgres_bindir()
    out = {"python": platform.python_version(), "kernel": platform.release(),
           "haproxy": _first_line(["haproxy", "-v"]), "redis-server": _first_line(["redis-server", "--version"]),
           "postgres": _first_line([str(bindir / "postgres"), "--version"]) if bindir else None}
    for pkg in ("scaling-lab", "numpy", "scipy", "aiohttp", "redis", "psycopg", "hdrhistogram"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def machine_info() -> dict:
    """CPU model, logical cores, memory and the current load average of this machine."""
    model = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines()
                          if l.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration):
        mem_kb = None
    return {"cpu_model": model, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1) if mem_kb else None,
            "loadavg": [round(x, 2) for x in os.getloadavg()], "realtime_scheduling": realtime_available()}


def command_line() -> str:
    """The command that is running, as typed: ``python -m scaling_lab lab run all`` for a package's ``__main__``."""
    argv = list(sys.argv)
    main = Path(argv[0]) if argv else Path()
    if main.name == "__main__.py":
        parts, pkg = [], main.resolve().parent
        while (pkg / "__init__.py").exists():
            parts.insert(0, pkg.name)
            pkg = pkg.parent
        argv = ["-m", ".".join(parts)] + argv[1:]
    return shlex.join(["python"] + argv)


def write_recording(name: str, tables: dict, meta: dict, root: Path | None = None) -> Path:
    """Write ``tables`` (name → DataFrame) as CSV and ``meta`` as ``meta.json`` into ``root/name``."""
    folder = Path(root or LAB_DATA) / name
    folder.mkdir(parents=True, exist_ok=True)
    for table, df in tables.items():
        df.to_csv(folder / f"{table}.csv", index=False, float_format="%.6g")
    full = {"experiment": name, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": command_line(), "tables": sorted(tables), **meta}
    (folder / "meta.json").write_text(json.dumps(full, indent=2, default=str) + "\n")
    return folder


def read_recording(name: str, root: Path | None = None) -> tuple[dict, dict]:
    """The tables (name → DataFrame) and metadata of a recording."""
    folder = Path(root or LAB_DATA) / name
    if not (folder / "meta.json").exists():
        raise ValueError(f"name must be a recorded experiment {recorded_names(root)}, got {name!r}")
    meta = json.loads((folder / "meta.json").read_text())
    return {t: pd.read_csv(folder / f"{t}.csv") for t in meta["tables"]}, meta


def recorded_names(root: Path | None = None) -> list[str]:
    folder = Path(root or LAB_DATA)
    return sorted(p.parent.name for p in folder.glob("*/meta.json"))
