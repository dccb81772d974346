"""Photos: hostile-file handling, known-image matching, nudity screening, storage.

The capability without the chat: ``PhotoPipeline.process(data)`` (service.py) sanitises and
re-encodes an upload, hashes it (PDQ, MD5, SHA-256), matches it against the imported hash lists
(``HashBank``) and scores it for nudity; ``PhotoStore`` keeps the lists and the photos' metadata
in the chat database; ``PhotoStorage`` keeps the bytes. docs/photos.md tells the whole story.
"""

from causerie.photos.errors import PhotoError, PhotoErrorCode
from causerie.photos.hashbank import BankEntry, HashBank, HashKind, Match
from causerie.photos.hashing import PhotoHashes, hash_photo, pdq_distance, pdq_hash
from causerie.photos.sanitise import CleanImage, Limits, OutputFormat, sanitise
from causerie.photos.service import PhotoPipeline, Processed
from causerie.photos.storage import DiskStorage, PhotoStorage

__all__ = [
    "BankEntry",
    "CleanImage",
    "DiskStorage",
    "HashBank",
    "HashKind",
    "Limits",
    "Match",
    "OutputFormat",
    "PhotoError",
    "PhotoErrorCode",
    "PhotoHashes",
    "PhotoPipeline",
    "PhotoStorage",
    "Processed",
    "hash_photo",
    "pdq_distance",
    "pdq_hash",
    "sanitise",
]
