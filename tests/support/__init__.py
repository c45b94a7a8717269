"""Pieces every test directory uses: waiting on conditions and child processes
(`processes`), reading raw event streams (`sse`)."""
