"""Storage and I/O: the query runner, snapshot store, import, demo generator, boundaries, data dictionary."""
