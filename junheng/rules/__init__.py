"""The official rules as pure functions on Polars frames: indicators, evaluation, standardization, left-behind
children, privacy."""
