"""Errors of the legal capability, each with a message a legal officer can act on."""

from __future__ import annotations


class LegalError(Exception):
    """Base of every refusal of the legal capability; ``str()`` is the message for the officer."""


class ScopeError(LegalError):
    """A request or preservation scope that is empty, unbounded or malformed."""


class RequestNotFound(LegalError):
    """No judicial request registered under this id or reference."""


class RequestClosed(LegalError):
    """The request was delivered: its data can no longer be searched or exported."""


class DuplicateReference(LegalError):
    """A request with this authority reference is registered already."""


class NotAnOfficer(LegalError):
    """The acting person is not one of the configured legal officers."""


class KeyMaterialError(LegalError):
    """Key material missing, unreadable or not the key the data was written with."""


class ExportError(LegalError):
    """An export package could not be written (the target exists, for instance)."""


class EvidenceCorrupted(LegalError):
    """An evidence or audit record does not match its hash chain."""


class OrderNotFound(LegalError):
    """No preservation order under this id."""
