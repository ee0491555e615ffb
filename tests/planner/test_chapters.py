"""The planner names chapters by slug; the one list of slugs matches the book's notebooks and table of contents."""

import re
from pathlib import Path

import pytest

from scaling_lab.planner.chapters import CHAPTERS, chapter_number
from scaling_lab.planner.steps import COMPONENTS, STEPS

ROOT = Path(__file__).resolve().parents[2]


def test_chapter_list_is_the_notebooks_in_order():
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert [re.sub(r"^\d+-", "", p.stem) for p in notebooks] == list(CHAPTERS)
    assert [int(p.stem[:2]) for p in notebooks] == [chapter_number(s) for s in CHAPTERS]


def test_chapter_list_follows_the_table_of_contents():
    toc = re.findall(r"notebooks/\d+-([\w-]+)", (ROOT / "_toc.yml").read_text())
    assert toc == list(CHAPTERS)


def test_every_step_and_component_names_a_chapter_that_exists():
    for thing in (*STEPS, *COMPONENTS):
        assert thing.chapter in CHAPTERS, thing


def test_unknown_slug_raises():
    with pytest.raises(ValueError, match="slug"):
        chapter_number("load-balancers")
