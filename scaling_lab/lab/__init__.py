"""The lab: real servers on this machine, measured against the models.

Components (context managers that start one real process on a free loopback
port in a temporary directory and stop exactly that process on exit):
:class:`LabServer`, :class:`HAProxy`, :class:`Postgres`, :class:`Redis`.
Load: :func:`open_loop` (open-loop, driven by the package's arrival processes)
and :func:`closed_loop` (saturation throughput).  :func:`replay` puts a run's
own arrivals and services through the FCFS recursion.  :mod:`.experiments`
registers the book's experiments; :func:`rerun` reruns one on the reader's
machine next to the recorded numbers under ``data/lab/``.
"""

from .experiments import EXPERIMENTS, rerun, run_experiment
from .haproxy import BALANCE_POLICIES, HAProxy
from .loadgen import ClosedLoopResult, LoadResult, closed_loop, latency_summary, open_loop
from .postgres import Postgres
from .process import Component, realtime_available
from .redis_server import EVICTION_POLICIES, Redis
from .replay import Replay, replay
from .report import (
    model_breaks_figure, model_breaks_table, recorded, recording_note, scaling_curve_figure, scaling_curve_runs, scaling_curve_table,
    single_server_figure, single_server_table,
)
from .webserver import LabServer
from .database_report import (
    database_blocking_table, database_closed_figure, database_closed_table, database_service_table,
    database_tier_figure, database_tier_table,
)
from .sharding_report import resharding_figure, resharding_table, shard_load_figure, shard_load_table
from .data_report import (
    commit_latency_table, failover_table, redis_hit_ratio_figure, redis_hit_ratio_table, replication_lag_figure,
    replication_lag_table, stale_reads_figure, stale_reads_table,
)
from .traffic_report import (
    backend_failure_table, balancer_policies_figure, balancer_policies_table, fanout_figure, fanout_table,
    queue_burst_figure, queue_burst_table, queue_delivery_table, retry_storm_figure, retry_storm_table,
    session_loss_table, session_store_figure, session_store_table, sticky_sessions_figure, sticky_sessions_table,
)

__all__ = ["Component", "LabServer", "HAProxy", "Postgres", "Redis", "BALANCE_POLICIES", "EVICTION_POLICIES",
           "open_loop", "closed_loop", "LoadResult", "ClosedLoopResult", "latency_summary", "replay", "Replay",
           "realtime_available", "EXPERIMENTS", "run_experiment", "rerun", "recorded", "recording_note",
           "single_server_table", "single_server_figure", "model_breaks_table", "model_breaks_figure",
           "scaling_curve_table", "scaling_curve_runs", "scaling_curve_figure",
           "balancer_policies_table", "balancer_policies_figure", "backend_failure_table", "retry_storm_table",
           "retry_storm_figure", "queue_burst_table", "queue_burst_figure", "queue_delivery_table", "fanout_table",
           "fanout_figure", "sticky_sessions_table", "sticky_sessions_figure", "session_loss_table",
           "session_store_table", "session_store_figure", "replication_lag_table", "replication_lag_figure", "stale_reads_table",
           "stale_reads_figure", "commit_latency_table", "failover_table", "redis_hit_ratio_table",
           "redis_hit_ratio_figure"]
__all__ += ["shard_load_table", "shard_load_figure", "resharding_table", "resharding_figure",
            "database_service_table", "database_tier_table", "database_tier_figure", "database_blocking_table",
            "database_closed_table", "database_closed_figure"]
