"""Python client and reference server for the Pipeline Service API."""

__version__ = "0.1.0"
