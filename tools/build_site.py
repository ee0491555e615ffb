"""Build the website: execute the chapters whose inputs changed, then render the book.

    python tools/build_site.py              # what `make site` runs
    python tools/build_site.py --jobs 1     # one kernel at a time

1. **Execution.** Each chapter's outputs live in the execution cache
   (jupyter-cache, ``_build/.jupyter_cache``). jupyter-cache keys a record on the
   notebook's code; this script adds every project file the chapter's kernel opened
   while it ran (the modules of ``scaling_lab`` it imported, the data it read), noted
   by ``tools/kernel_reads.py``, with their SHA-256 (of a module's code without its
   docstrings: see :func:`digest`). A record whose notebook or any of those files changed
   is dropped and the chapter re-executed, so a change in the package never leaves the
   site stale and ``make clean`` is never needed for it.
   Stale chapters run in parallel, one kernel per core, the longest first.
2. **Rendering.** ``jupyter-book build -W -n --keep-going .`` (warnings are errors)
   reuses the cached outputs; ``book/_ext/execution_records.py`` makes Sphinx re-read a
   chapter whose record changed even though its notebook did not. When nothing that
   goes into the site changed since the last successful build, this step is skipped.

A chapter that fails here is not cached: the book build runs it again and reports its
traceback.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from functools import lru_cache
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"
MANIFEST = CACHE / "records.json"  # chapter -> cache record, read by book/_ext/execution_records.py
STAMP = BUILD / "html" / ".build-inputs"
KERNEL_HOOK = Path(__file__).resolve().parent / "kernel_reads.py"
BIG_FILE = 1 << 20  # larger files (plotly.min.js, MathJax fonts) are compared by size and mtime
# Written by the build itself from other inputs (book/_ext/api_pages.py, book/_ext/journey.py): not inputs.
GENERATED = ("book/api/", "book/_static/journey.svg", "book/_stages.md")


def digest(path: Path) -> str:
    """SHA-256 of what a file contributes to a chapter's outputs.

    For Python source that is its code: the syntax tree without docstrings (comments,
    blank lines and layout are not in it), so that editing the prose of the API
    reference does not re-execute every chapter; no chapter prints a docstring. Any
    other file (data), or source that does not parse, by its bytes. A source's tree is
    built once per content in a process (every chapter reads most of the package).
    """
    data = path.read_bytes()
    return _code_digest(data) if path.suffix == ".py" else hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=None)
def _code_digest(source: bytes) -> str:
    try:
        return hashlib.sha256(_code_without_docstrings(source).encode()).hexdigest()
    except (SyntaxError, ValueError):
        return hashlib.sha256(source).hexdigest()


def _code_without_docstrings(source: bytes) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _config() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def chapters() -> list[Path]:
    """The notebooks of the table of contents, in its order."""
    import yaml

    root = ROOT
    found: list[Path] = []

    def walk(node):
        if isinstance(node, dict):
            name = node.get("file")
            if isinstance(name, str) and (root / f"{name}.ipynb").exists():
                found.append(root / f"{name}.ipynb")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")))
    return found


def reads_are_current(reads: object) -> bool:
    """True when every file a cached execution read still has the digest it had then."""
    if not isinstance(reads, dict) or not reads:
        return False
    for rel, sha in reads.items():
        path = ROOT / rel
        if not path.is_file() or digest(path) != sha:
            return False
    return True


def execute(path: str, timeout: int, root: str) -> dict:
    """Run one notebook in a fresh kernel (in its own folder); return it with its timing and reads."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    with tempfile.NamedTemporaryFile("r", suffix=".reads", delete=False) as log:
        log_path = log.name
    os.environ.update(SCALING_LAB_READS=log_path, SCALING_LAB_ROOT=root, SCALING_LAB_STATIC="1")
    # No timing metadata: jupyter-cache hashes cell metadata, and the record must match the notebook.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(Path(path).parent)}},
                            extra_arguments=[f"--IPKernelApp.exec_files={KERNEL_HOOK}"])
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as err:
        error = str(err)
    seconds = time.perf_counter() - start
    names = sorted(set(Path(log_path).read_text(encoding="utf-8").split()))
    os.unlink(log_path)
    reads = {name: digest(Path(root) / name) for name in names if (Path(root) / name).is_file()}
    return dict(path=path, nb=nbformat.writes(nb), seconds=seconds, reads=reads, error=error)


def execute_stale(cache, jobs: int, timeout: int) -> tuple[int, int]:
    """Drop records whose inputs changed, execute those chapters; return (executed, failed)."""
    import nbformat
    from jupyter_cache.base import CacheBundleIn

    stale: list[tuple[float, str]] = []
    for path in chapters():
        cache.add_nb_to_project(str(path))
        try:
            record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            stale.append((0.0, str(path)))
            continue
        if not reads_are_current(record.data.get("reads")):
            stale.append((float(record.data.get("execution_seconds") or 0.0), str(path)))
            cache.remove_cache(record.pk)
    if not stale:
        return 0, 0
    stale.sort(reverse=True)  # longest first packs the kernels best
    print(f"Executing {len(stale)} chapter(s) on {min(jobs, len(stale))} kernel(s): "
          + ", ".join(Path(p).stem for _, p in stale), flush=True)
    failed = 0
    workers = min(jobs, len(stale))
    with ProcessPoolExecutor(max_workers=workers) if workers > 1 else nullcontext() as pool:
        runs = (pool.map if pool else map)(execute, [p for _, p in stale], [timeout] * len(stale),
                                           [str(ROOT)] * len(stale))
        for result in runs:
            name = Path(result["path"]).stem
            if result["error"]:
                failed += 1
                print(f"  {name}: FAILED after {result['seconds']:.1f} s (the book build reports it)", flush=True)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nbformat.reads(result["nb"], as_version=4), result["path"],
                              data={"execution_seconds": result["seconds"], "reads": result["reads"]}),
                check_validity=False, overwrite=True)
            print(f"  {name}: {result['seconds']:.1f} s, {len(result['reads'])} project files read", flush=True)
    return len(stale), failed


def write_manifest(cache) -> str:
    """Record which cache record serves each chapter; a changed record makes Sphinx re-read the page."""
    import nbformat

    records = {}
    for path in chapters():
        try:
            record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            continue
        docname = path.relative_to(ROOT).with_suffix("").as_posix()
        records[docname] = f"{record.pk}:{record.hashkey}:{record.created.isoformat()}"
    text = json.dumps(records, indent=1, sort_keys=True)
    MANIFEST.write_text(text, encoding="utf-8")
    return text


def site_inputs(manifest: str) -> str:
    """One digest of everything the rendering step reads."""
    h = hashlib.sha256(manifest.encode())
    files = [ROOT / "_config.yml", ROOT / "_toc.yml", Path(__file__).resolve(), *chapters()]
    files += sorted(p for p in (ROOT / "book").rglob("*")
                    if p.is_file() and not p.relative_to(ROOT).as_posix().startswith(GENERATED))
    files += sorted(p for p in (ROOT / "scaling_lab").rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        stat = path.stat()
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode() if stat.st_size > BIG_FILE else path.read_bytes())
    for dist in ("jupyter-book", "sphinx", "myst-nb", "sphinx-book-theme", "plotly"):
        h.update(f"{dist}=={metadata.version(dist)}".encode())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="kernels run at once")
    args = parser.parse_args(argv)
    from jupyter_cache import get_cache

    os.environ["SCALING_LAB_STATIC"] = "1"
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    cache = get_cache(str(CACHE))
    timeout = int(_config().get("execute", {}).get("timeout", 300))
    start = time.perf_counter()
    executed, failed = execute_stale(cache, max(1, args.jobs), timeout)
    if executed:
        print(f"Executed {executed} chapter(s) in {time.perf_counter() - start:.1f} s ({failed} failed)", flush=True)

    inputs = site_inputs(write_manifest(cache))
    if (STAMP.is_file() and STAMP.read_text() == inputs and (BUILD / "html" / "index.html").is_file()):
        print("The site is up to date: nothing it is built from changed since the last build.")
        return 0
    STAMP.unlink(missing_ok=True)
    build = [str(Path(sys.executable).with_name("jupyter-book")), "build", "-W", "-n", "--keep-going", str(ROOT)]
    code = subprocess.call(build, cwd=ROOT)
    if code == 0:
        STAMP.write_text(inputs)
    return code


if __name__ == "__main__":
    sys.exit(main())
