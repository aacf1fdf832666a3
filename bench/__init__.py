"""Benchmarks (`make bench`): figures for README, never pass/fail tests."""
