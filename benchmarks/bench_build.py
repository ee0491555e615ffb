"""Time the site build, cold and warm, in a fresh copy of the repository.

    python benchmarks/bench_build.py             # 3 rounds
    python benchmarks/bench_build.py --rounds 5

Each round copies the committed tree (``git archive HEAD``, and the built static assets, plotly.min.js and MathJax) into a
temporary folder and runs the build step of ``make site`` there (``tools/build_site.py``, the copy's
own package first on the path):

* cold: no ``_build`` at all: every chapter executes, Sphinx renders every page;
* warm: the same command again with nothing changed;
* edit: after a one-line prose change to one page (only Sphinx work);
* doc: after a docstring-only change to one concept module (its API page is rebuilt; no chapter
  re-executes, since a module's digest is its code without docstrings);
* code: after a change to that module's code (every chapter that read it re-executes).

It prints every time, then the minimum and the spread (max - min) of each. Timings on a machine shared
with other jobs vary a lot: compare minimums. Needs ``make site`` to have run once (static assets).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ["book/_static/plotly.min.js", "book/_static/mathjax"]


def copy_repo(dest: Path) -> None:
    """The committed tree (HEAD), so that work in progress in the working tree cannot break the copy."""
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    for name in ASSETS:
        src = ROOT / name
        if not src.exists():
            raise SystemExit(f"{name} is missing: run `make site` once first")
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)


def timed_build(repo: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(repo), SCALING_LAB_STATIC="1")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "tools/build_site.py"], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:  # still a full build's work: time it, but say so
        errors = [line for line in result.stdout.splitlines() if "WARNING" in line or "Error" in line]
        print(f"  the build reported {len(errors)} warning(s)/error(s), e.g. {errors[:1]}", flush=True)
    return seconds


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"cold": [], "warm": [], "edit": [], "doc": [], "code": []}
    for k in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
            repo = Path(tmp)
            copy_repo(repo)
            times["cold"].append(timed_build(repo))
            times["warm"].append(timed_build(repo))
            append(repo / "book" / "how-to-read.md", "\nOne more sentence.\n")
            times["edit"].append(timed_build(repo))
            module = repo / "scaling_lab" / "traffic.py"
            module.write_text(module.read_text(encoding="utf-8").replace('"""', '"""Benchmark edit. ', 1),
                              encoding="utf-8")
            times["doc"].append(timed_build(repo))
            append(module, "\n_BENCHMARK_EDIT = 1\n")
            times["code"].append(timed_build(repo))
        print(f"round {k + 1}: " + ", ".join(f"{name} {t[-1]:.1f} s" for name, t in times.items()), flush=True)
    load = os.getloadavg()
    print(f"\n{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)")
    for name, values in times.items():
        print(f"{name:5s} min {min(values):6.1f} s   spread {max(values) - min(values):5.1f} s   "
              f"all {', '.join(f'{v:.1f}' for v in values)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
