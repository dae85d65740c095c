"""Change hints between processes: the port, one module per transport, and the Propagator."""
