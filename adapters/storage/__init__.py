"""Event logs, one module per backend, and :func:`open_log` choosing one by ``STORAGE_ADAPTER``."""
