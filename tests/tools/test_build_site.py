"""The site build re-executes a chapter when a file it read changes (tools/build_site.py)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_site = _load("build_site", ROOT / "tools" / "build_site.py")
execution_records = _load("execution_records", ROOT / "book" / "_ext" / "execution_records.py")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A one-chapter project: the chapter imports a module of the project and reads a data file."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "helper.py").write_text("FACTOR = 2\n")
    (tmp_path / "unused.py").write_text("NOTHING = 0\n")
    (tmp_path / "data.csv").write_text("x\n21\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/chapter\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import sys; sys.path.insert(0, '..')\nimport helper\n"
        "print(helper.FACTOR * int(open('../data.csv').read().split()[1]))")]
    nbformat.write(nb, tmp_path / "notebooks" / "chapter.ipynb")
    monkeypatch.setattr(build_site, "ROOT", tmp_path)
    from jupyter_cache import get_cache

    return tmp_path, get_cache(str(tmp_path / "_build" / ".jupyter_cache"))


def _output(cache, path: Path) -> str:
    record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
    return cache.get_cache_bundle(record.pk).nb.cells[0].outputs[0]["text"].strip()


@pytest.mark.skipif(shutil.which("jupyter") is None and not (Path(sys.executable).parent / "jupyter").exists(),
                    reason="needs a Jupyter kernel")
def test_a_changed_module_or_data_file_re_executes_the_chapter(project):
    root, cache = project
    chapter = root / "notebooks" / "chapter.ipynb"
    assert build_site.execute_stale(cache, jobs=1, timeout=60) == (1, 0)
    assert _output(cache, chapter) == "42"
    record = cache.match_cache_notebook(nbformat.read(chapter, as_version=4))
    assert set(record.data["reads"]) == {"helper.py", "data.csv"}  # what the kernel opened, nothing else

    assert build_site.execute_stale(cache, jobs=1, timeout=60) == (0, 0)  # nothing changed
    (root / "unused.py").write_text("NOTHING = 1\n")
    assert build_site.execute_stale(cache, jobs=1, timeout=60) == (0, 0)  # a file it never read

    (root / "helper.py").write_text("FACTOR = 3\n")
    assert build_site.execute_stale(cache, jobs=1, timeout=60) == (1, 0)
    assert _output(cache, chapter) == "63"
    (root / "data.csv").write_text("x\n10\n")
    assert build_site.execute_stale(cache, jobs=1, timeout=60) == (1, 0)
    assert _output(cache, chapter) == "30"
    assert len(cache.list_cache_records()) == 1  # stale records are dropped, not kept beside


def test_a_module_digest_is_its_code_without_docstrings(tmp_path):
    path = tmp_path / "m.py"
    source = '"""Module."""\n\n\ndef f(x):\n    """Double."""\n    return 2 * x  # twice\n\n\nclass C:\n    """C."""\n'
    path.write_text(source)
    before = build_site.digest(path)
    path.write_text(source.replace("Double.", "Twice x, in the same units.").replace("# twice", "# 2x")
                    .replace('"""C."""', '"""A class.\n\n    More prose.\n    """'))
    assert build_site.digest(path) == before  # prose and comments only: the chapters need not run
    for change in (source.replace("2 * x", "3 * x"), source.replace('"""C."""', '"""C."""\n    A = 1'),
                   source.replace('    return 2 * x', '    "Not a docstring: a statement after the first."\n    return 2 * x')):
        path.write_text(change)
        assert build_site.digest(path) != before
    path.write_text(source.replace("return 2 * x", "return (\n        2 * x)"))
    assert build_site.digest(path) == before  # layout is not code
    (tmp_path / "d.csv").write_text("x\n1\n")
    data = build_site.digest(tmp_path / "d.csv")
    (tmp_path / "d.csv").write_text("x\n 1\n")
    assert build_site.digest(tmp_path / "d.csv") != data  # data by its bytes


def test_records_without_reads_are_stale(project):
    root, _ = project
    (root / "a.py").write_text("A = 1\n")
    sha = build_site.digest(root / "a.py")
    assert build_site.reads_are_current({"a.py": sha})
    assert not build_site.reads_are_current({"a.py": "0" * 64})
    assert not build_site.reads_are_current({"gone.py": sha})
    assert not build_site.reads_are_current(None)  # executed elsewhere (e.g. by the book build itself)


def test_sphinx_re_reads_a_page_whose_record_changed(tmp_path):
    manifest = tmp_path / execution_records.MANIFEST
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"notebooks/a": "1:x", "notebooks/b": "2:y"}))
    app = SimpleNamespace(srcdir=str(tmp_path))
    env = SimpleNamespace(found_docs={"notebooks/a", "notebooks/b"}, execution_records={"notebooks/a": "1:x",
                                                                                         "notebooks/b": "2:old"})
    assert execution_records._outdated(app, env, set(), set(), set()) == ["notebooks/b"]
    env.execution_records["notebooks/b"] = "2:y"
    assert execution_records._outdated(app, env, set(), set(), set()) == []


def test_files_the_build_writes_are_not_its_inputs(project, monkeypatch):
    """A second build after a cold one finds the site up to date: the API pages and the journey figure
    the build writes itself do not count as changed inputs, while a changed page of the book does."""
    root, _ = project
    (root / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "build_site.py", root / "tools" / "build_site.py")
    monkeypatch.setattr(build_site, "__file__", str(root / "tools" / "build_site.py"))
    (root / "_config.yml").write_text("title: t\n")
    (root / "scaling_lab").mkdir()
    (root / "book" / "api").mkdir(parents=True)
    (root / "book" / "intro.md").write_text("# Intro\n")
    before = build_site.site_inputs("{}")
    (root / "book" / "api" / "scaling_lab.cache.md").write_text("# scaling_lab.cache\n")
    (root / "book" / "_static").mkdir()
    (root / "book" / "_static" / "journey.svg").write_text("<svg/>")
    (root / "book" / "_stages.md").write_text("| stage |\n")
    assert build_site.site_inputs("{}") == before
    (root / "book" / "intro.md").write_text("# Introduction\n")
    assert build_site.site_inputs("{}") != before
