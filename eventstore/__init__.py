"""The write model of parako-config: schema, events, the log port, encryption and commands.

Nothing in this package performs I/O; adapters bring the outside world in.
"""
