"""Benchmarks (issue 7): `make bench` runs them all and prints one table; each also runs alone
(`.venv/bin/python -m benchmarks.cold_start`). Every module exposes `run() -> list[Row]`."""
