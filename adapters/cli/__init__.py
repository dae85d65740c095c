"""The command line: ``parako-config`` and its command groups (entry: ``main.main``)."""
