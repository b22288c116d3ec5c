"""Benchmarks (`make bench`): each measures its comparison side by side in one run."""
