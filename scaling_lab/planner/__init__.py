"""The capacity planner: daily users in, an architecture and a monthly bill out (chapter 13).

``plan`` sizes every tier for one number of daily users, ``sweep`` does it for
many, ``entry_points`` finds where each component of the journey first becomes
necessary; ``cli`` is ``python -m scaling_lab plan|journey``.
"""

from .planning import COMPONENTS, Assumptions, Plan, entry_points, plan, sweep, zipf_cache_items

__all__ = ["Assumptions", "Plan", "plan", "sweep", "entry_points", "COMPONENTS", "zipf_cache_items"]
