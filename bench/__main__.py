"""Entry point: ``python -m bench`` (SQLite and in-process), ``python -m bench postgres``,
``python -m bench propagation`` (commit → applied in other processes, over Redis and NOTIFY),
``python -m bench http`` (the Management API over loopback)."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["postgres"]:
        from bench.bench_postgres import main as postgres_main

        postgres_main(sys.argv[2:])
    elif sys.argv[1:2] == ["http"]:
        from bench.bench_http import main as http_main

        http_main(sys.argv[2:])
    elif sys.argv[1:2] == ["propagation"]:
        from bench.bench_propagation import main as propagation_main

        propagation_main(sys.argv[2:])
    else:
        from bench.bench_store import main

        main(sys.argv[1:])
