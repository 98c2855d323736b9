"""Command line, benchmarks and the browser driver."""
