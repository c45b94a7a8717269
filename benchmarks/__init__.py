"""Benchmarks of the pipeline-service client, server and runner (see benchmarks/README.md).

Run them all with `python -m benchmarks` (add `--quick` for the tiny mode the test suite uses).
"""
