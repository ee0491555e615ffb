"""Print the weight of every built HTML page (without the shared plotly.min.js) and flag pages over budget.

    python tools/page_weights.py _build/html [--budget-mb 1.5]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def page_weights(site: Path) -> list[tuple[str, int]]:
    """(page, bytes) for every HTML page of the site, heaviest first."""
    pages = [(str(p.relative_to(site)), p.stat().st_size) for p in site.rglob("*.html")
             if "_static" not in p.parts and "_sources" not in p.parts]
    return sorted(pages, key=lambda item: -item[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", type=Path)
    parser.add_argument("--budget-mb", type=float, default=1.5)
    args = parser.parse_args()
    pages = page_weights(args.site)
    over = [(p, b) for p, b in pages if b > args.budget_mb * 1e6]
    print(f"Page weights (budget {args.budget_mb} MB each, plotly.min.js excluded):")
    for page, size in pages:
        print(f"  {size / 1e6:7.3f} MB  {page}{'  OVER BUDGET' if size > args.budget_mb * 1e6 else ''}")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
