"""The policy's harm categories, defined with the other domain types (:mod:`causerie.domain`)."""

from causerie.domain import Category

__all__ = ["Category"]
