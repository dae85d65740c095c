"""Opening the event log named by ``STORAGE_ADAPTER``: the table of openers matches the schema,
an unknown name is refused by name, and a SQLite installation never loads the other drivers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from adapters.sources.layers import Sources
from adapters.storage.opening import OPENERS, open_log
from adapters.storage.sqlite import SqliteEventLog
from eventstore.errors import ConfigError
from eventstore.hashchain import HashChain
from eventstore.resolve import Bootstrap
from eventstore.schema.declare import META_KEY
from eventstore.schema.kinds import Choice
from eventstore.schema.sections.storage import Storage

CHAIN = HashChain(b"k" * 32)
ROOT = Path(__file__).resolve().parent.parent


def sources(root: Path, **overrides: str) -> Sources:
    """Sources as the bootstrap would hand them over, with ``storage.*`` overrides as given."""
    settings = {f"storage.{path.replace('__', '.')}": value for path, value in overrides.items()}
    return Sources(root, Bootstrap(overrides=settings), file_mode=False)


def test_every_adapter_the_schema_allows_has_an_opener() -> None:
    kind = attrs.fields(Storage).adapter.metadata[META_KEY].kind
    assert isinstance(kind, Choice)
    assert set(OPENERS) == set(kind.values)


async def test_an_unknown_adapter_is_refused_with_the_accepted_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        await open_log(sources(tmp_path, adapter="cassandra"), CHAIN)
    message = str(caught.value)
    assert "STORAGE_ADAPTER=cassandra" in message
    assert "mongodb, postgresql, sqlite" in message


@pytest.mark.parametrize(
    ("adapter", "message"),
    [
        ("postgresql", "STORAGE_ADAPTER=postgresql needs STORAGE_POSTGRESQL_URL"),
        ("mongodb", "STORAGE_ADAPTER=mongodb needs STORAGE_MONGODB_URI"),
    ],
)
async def test_a_server_adapter_without_its_url_is_refused(
    tmp_path: Path, adapter: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        await open_log(sources(tmp_path, adapter=adapter), CHAIN)


async def test_sqlite_is_the_default_and_relative_paths_start_at_the_root(tmp_path: Path) -> None:
    for opened_by in (sources(tmp_path), sources(tmp_path, sqlite__path="data/own.db")):
        log = await open_log(opened_by, CHAIN)
        await log.close()
        assert isinstance(log, SqliteEventLog)
    assert (tmp_path / "runtime" / "data" / "parako.db").is_file()
    assert (tmp_path / "data" / "own.db").is_file()
    absolute = tmp_path / "elsewhere" / "abs.db"
    await (await open_log(sources(tmp_path, sqlite__path=str(absolute)), CHAIN)).close()
    assert absolute.is_file()


def test_opening_sqlite_loads_no_other_driver(tmp_path: Path) -> None:
    """The server drivers are imported by their openers only (a SQLite install may lack them)."""
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from adapters.sources.layers import Sources\n"
        "from adapters.storage.opening import open_log\n"
        "from eventstore.hashchain import HashChain\n"
        "from eventstore.resolve import Bootstrap\n"
        "async def main():\n"
        f"    s = Sources(Path({str(tmp_path)!r}), Bootstrap(), file_mode=False)\n"
        "    await (await open_log(s, HashChain(b'k' * 32))).close()\n"
        "asyncio.run(main())\n"
        "print(sorted({'asyncpg', 'pymongo', 'motor'} & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
