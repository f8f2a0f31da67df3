"""Prometheus metrics: counters where events happen (counters.py, hooked on in wiring.py), and
SQL's figures read at scrape time (scrape.py)."""
