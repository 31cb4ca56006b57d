"""Benchmarks: request counts, wall/CPU time and memory of plan and apply at scale (``make bench``)."""
