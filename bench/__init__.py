"""Benchmarks: one script per area, each printing ratios against a baseline measured in the same run."""
