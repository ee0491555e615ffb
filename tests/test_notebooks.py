"""Every chapter in the table of contents keeps at least three nbval-checked cells with stored outputs.

Without this, a chapter could lose its checked numbers and nbval would pass vacuously.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TAG = "nbval-check-output"  # nbval reads it from the cell metadata; readers never see it


def is_checked(cell) -> bool:
    return cell["cell_type"] == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def chapters() -> list[Path]:
    toc = (ROOT / "_toc.yml").read_text()
    return [ROOT / f"{name}.ipynb" for name in re.findall(r"file:\s*(notebooks/[\w.-]+)", toc)]


def test_toc_lists_chapters():
    assert len(chapters()) >= 1
    for path in chapters():
        assert path.exists(), f"{path.name} is in _toc.yml but missing"


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_chapter_has_checked_numbers(path):
    cells = json.loads(path.read_text())["cells"]
    checked = [c for c in cells if is_checked(c)]
    assert len(checked) >= 3, f"{path.name}: {len(checked)} cells tagged nbval-check-output, want >= 3"
    for cell in checked:
        text = "".join("".join(o.get("text", "")) + json.dumps(o.get("data", {})) for o in cell["outputs"])
        assert text.strip(), f"{path.name}: a checked cell has no stored output:\n{''.join(cell['source'])[:200]}"


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_only_checked_outputs_are_stored(path):
    """`make strip` keeps the repository light: unchecked cells carry no outputs."""
    notebook = json.loads(path.read_text())
    assert "widgets" not in notebook["metadata"], f"{path.name} stores ipywidgets state; run `make strip`"
    cells = notebook["cells"]
    heavy = [c for c in cells if c["cell_type"] == "code" and c.get("outputs")
             and not is_checked(c)]
    assert not heavy, f"{path.name}: {len(heavy)} unchecked cells store outputs; run `make strip`"


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_checked_cells_carry_both_marks(path):
    """A checked cell has nbval's tag and its comment, and no other cell has either; the site hides the
    comment (book/_ext/test_markers.py, checked on the built pages by tests/test_site.py)."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for cell in cells:
        first = "".join(cell["source"]).split("\n", 1)[0]
        assert is_checked(cell) == (first == "# NBVAL_CHECK_OUTPUT"), f"{path.name}: {first!r}"
