"""The capacity planner: daily users in, an architecture and a monthly bill out (the capstone chapter).

:mod:`.assumptions` declares every input once; :mod:`.steps` sizes one tier per
step; :mod:`.planning` runs them (``plan``, ``sweep``, ``entry_points``);
:mod:`.report` writes a plan as text, JSON or CSV; :mod:`.sensitivity` puts error bars on it;
:mod:`.prices` reads the price tables; :mod:`.cli` is
``python -m scaling_lab plan|journey``.
"""

from .assumptions import Assumptions, resolve_assumptions
from .models import zipf_cache_items
from .planning import Plan, entry_points, plan, sweep
from .sensitivity import CostBand, cost_band, sensitivity
from .steps import COMPONENTS, STEPS, Tier

__all__ = ["Assumptions", "Plan", "Tier", "STEPS", "COMPONENTS", "plan", "sweep", "entry_points",
           "resolve_assumptions", "zipf_cache_items", "sensitivity", "cost_band", "CostBand"]
