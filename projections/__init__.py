"""Read models folded from the event log: runtime config, version history, tenants, audit."""
