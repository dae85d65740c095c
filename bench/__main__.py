"""Entry point: ``python -m bench``."""

from bench.bench_store import main

if __name__ == "__main__":
    main()
