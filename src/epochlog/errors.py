"""The exceptions epochlog raises. Driver errors (sqlite3, pymongo, redis) never leak past a store.

    EpochlogError
    ├── InvalidDocument (also ValueError)   a value that cannot be stored; names the key path
    ├── InvalidArgument (also ValueError)   a bad status, a malformed ObjectId string, a bad option
    ├── QueryError (also ValueError)        a filter, sort or projection we do not accept; names the operator
    ├── StoreError
    │   ├── NotFound (also KeyError)        an unknown experiment, checkpoint or series
    │   ├── StoreUnavailable                the server or file cannot be reached right now
    │   ├── Conflict                        a uniqueness constraint was violated
    │   └── Unauthorized                    the account may not do this (a read-only user writing)
    ├── MigrationError                      a legacy database that cannot be migrated
    └── CacheError                          the feature cache cannot serve or store a value
"""

from __future__ import annotations


class EpochlogError(Exception):
    """Base class of every error epochlog raises on purpose."""


class InvalidDocument(EpochlogError, ValueError):
    """A value that cannot be stored. `path` is the dotted key path of the culprit."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class InvalidArgument(EpochlogError, ValueError):
    """An argument outside what the API accepts (status, id, option)."""


class QueryError(EpochlogError, ValueError):
    """A filter, sort or projection that is malformed or uses an operator we refuse."""


class StoreError(EpochlogError):
    """A storage backend failed."""


class NotFound(StoreError, KeyError):
    """The experiment (or other record) does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoreUnavailable(StoreError):
    """The store cannot be reached (server down, file locked beyond the busy timeout)."""


class Conflict(StoreError):
    """A write violated a uniqueness constraint."""


class Unauthorized(StoreError):
    """The server refused the operation to this account (MongoDB's code 13): a read-only user writing."""


class MigrationError(EpochlogError):
    """A legacy database cannot be read or has an unexpected schema."""


class CacheError(EpochlogError):
    """The feature cache cannot serve or store a value."""
