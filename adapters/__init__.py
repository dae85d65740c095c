"""Everything that touches the outside world: storage, environment, files, CLI, HTTP."""
