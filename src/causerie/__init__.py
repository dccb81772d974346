"""causerie: a public chat site that is safe by design."""

__version__ = "0.1.0"
