"""``python -m bench [NAME] [ARGS…]``: one benchmark family per run, results as a table.

NAME is one of the keys of SUITES (default ``store``: SQLite append/replay, cold start, hot read).
Each suite prints its own table; bench/RESULTS.md records them with the command that made them.
"""

import importlib
import sys

SUITES = {
    "store": "bench.bench_store",  # SQLite append vs raw/eventsourcing, replay, cold, hot read
    "postgres": "bench.bench_postgres",  # PostgreSQL append vs raw/eventsourcing, replay
    "propagation": "bench.bench_propagation",  # commit → applied elsewhere, Redis and NOTIFY
    "tenants": "bench.bench_tenants",  # effective tenant configs, 10,000 resident
    "http": "bench.bench_http",  # the Management API over loopback, load from another process
    "watch": "bench.bench_watch",  # commit → SSE event at 100 watchers; runtime 304 vs 200 reads
    "scale": "bench.bench_scale",  # each cost at 1,000 / 10,000 / 100,000 versions and tenants
    "fairness": "bench.bench_fairness",  # 4 processes saving without a version: shares
}

if __name__ == "__main__":
    name, args = (sys.argv[1], sys.argv[2:]) if sys.argv[1:2] else ("store", [])
    if name not in SUITES:
        sys.exit(f"unknown benchmark {name!r}; choose from: {', '.join(SUITES)}")
    importlib.import_module(SUITES[name]).main(args)
