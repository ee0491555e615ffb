"""Keep committed notebooks light: execute them, then keep only the outputs nbval checks.

    python tools/notebooks.py run notebooks/01-single-server.ipynb   # execute in place, then strip
    python tools/notebooks.py strip notebooks/*.ipynb                # strip only

A code cell tagged ``nbval-check-output`` keeps its outputs (nbval compares
them); every other cell is stored without outputs, since the book build executes them anyway.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TAG = "nbval-check-output"


def strip(nb) -> None:
    # Live explorer panels leave ipywidgets state in the notebook metadata; the website must not
    # carry it (it would make every page load the widget manager from a CDN).
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if TAG in cell.metadata.get("tags", []):
            continue
        cell.outputs = []
        cell.execution_count = None


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("run", "strip"):
        print(__doc__)
        return 2
    for name in argv[1:]:
        path = Path(name)
        nb = nbformat.read(path, as_version=4)
        if argv[0] == "run":
            NotebookClient(nb, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        strip(nb)
        nbformat.write(nb, path)
        print(f"{argv[0]}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
