"""The storage backends the store-level tests run on, each as a fresh, empty store.

One table for every parametrized test module, so adding a backend to the store, CLI and
reliability tests is one entry here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping


@contextlib.contextmanager
def _sqlite() -> Iterator[dict[str, str]]:
    yield {}  # the default: runtime/data/parako.db under the project root


@contextlib.contextmanager
def _postgresql() -> Iterator[dict[str, str]]:
    from .pg_server import fresh_database  # skips (or fails under CI) without a server

    with fresh_database() as url:
        yield {"STORAGE_ADAPTER": "postgresql", "STORAGE_POSTGRESQL_URL": url}


@contextlib.contextmanager
def _mongodb() -> Iterator[dict[str, str]]:
    from .mongo_server import fresh_database  # the emulator unless PARAKO_TEST_MONGODB_URI is set

    with fresh_database() as database:
        yield {"STORAGE_ADAPTER": "mongodb", "STORAGE_MONGODB_URI": database.uri}


Storage = Callable[[], contextlib.AbstractContextManager[dict[str, str]]]

#: backend name -> context manager yielding the variables of a fresh, empty store
STORAGES: Mapping[str, Storage] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
    "mongodb": _mongodb,
}
#: the backends whose concurrency a test may take as evidence: the MongoDB stand-in is not one
#: (its multi-process behaviour is not MongoDB's), so multi-process tests leave it out
CONCURRENCY_EVIDENCE: Mapping[str, Storage] = {
    name: storage for name, storage in STORAGES.items() if name != "mongodb"
}


def env_lines(variables: Mapping[str, str]) -> str:
    """The same variables as lines of a ``runtime/.env`` file."""
    return "".join(f"{name}={value}\n" for name, value in variables.items())
