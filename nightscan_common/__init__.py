"""Shared pieces of the NightScan dataset toolkit: audio I/O, plans, schemas, runners."""

__version__ = "1.0.0"
