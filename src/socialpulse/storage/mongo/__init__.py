"""The MongoDB store (pymongo): documents per post, aggregate key and user; see docs/STORAGE.md.

Imported only when a ``mongodb://`` store is built (``storage/factory.py`` names it), so pymongo
is never imported by a process that uses another store.
"""

from socialpulse.storage.mongo.store import MongoStore

__all__ = ["MongoStore"]
