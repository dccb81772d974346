"""The ``causerie`` command."""
