"""The `Examples:` epilog of a command's `--help`, written one way for every command."""

from __future__ import annotations


def examples(*command_lines: str) -> str:
    """An epilog listing `command_lines`, each a paragraph of its own (so typer keeps the lines
    apart instead of joining them into one)."""
    return "\n\n".join(("Examples:", *command_lines))
