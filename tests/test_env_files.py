from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.sources.env_files import read_env
from adapters.sources.file_source import UnreadableFileError
from eventstore.errors import Issue, ValidationFailed


def _write(root: Path, name: str, text: str) -> None:
    path = root / "runtime" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_environment_beats_both_files(tmp_path: Path) -> None:
    _write(tmp_path, ".env", "DB_HOST=from-env-file\n")
    _write(tmp_path, ".env.local", "DB_HOST=from-env-local\n")
    layers = read_env(tmp_path, {"DB_HOST": "from-process"})
    assert layers.get("DB_HOST") == "from-process"
    assert layers.source_of("DB_HOST") == "environment"
    assert layers.as_mapping()["DB_HOST"] == "from-process"


def test_env_local_beats_env(tmp_path: Path) -> None:
    _write(tmp_path, ".env", "DB_HOST=from-env-file\nONLY_ENV=1\n")
    _write(tmp_path, ".env.local", "DB_HOST=from-env-local\n")
    layers = read_env(tmp_path, {})
    assert layers.get("DB_HOST") == "from-env-local"
    assert layers.source_of("DB_HOST") == "runtime/.env.local"
    assert layers.get("ONLY_ENV") == "1"
    assert layers.source_of("ONLY_ENV") == "runtime/.env"


def test_merged_mapping_holds_every_layer(tmp_path: Path) -> None:
    _write(tmp_path, ".env", "A=env\nB=env\nC=env\n")
    _write(tmp_path, ".env.local", "B=local\nC=local\n")
    layers = read_env(tmp_path, {"C": "process"})
    assert dict(layers.as_mapping()) == {"A": "env", "B": "local", "C": "process"}


def test_empty_value_in_higher_layer_still_wins(tmp_path: Path) -> None:
    _write(tmp_path, ".env", "SMTP_HOST=mail.example\nLOG=x\n")
    _write(tmp_path, ".env.local", "SMTP_HOST=\n")
    layers = read_env(tmp_path, {"LOG": ""})
    assert layers.get("SMTP_HOST") == ""
    assert layers.source_of("SMTP_HOST") == "runtime/.env.local"
    assert layers.get("LOG") == ""
    assert layers.source_of("LOG") == "environment"


def test_bare_key_counts_as_absent(tmp_path: Path) -> None:
    _write(tmp_path, ".env", "FEATURE=on\n")
    _write(tmp_path, ".env.local", "FEATURE\n")
    layers = read_env(tmp_path, {})
    assert layers.get("FEATURE") == "on"
    assert layers.source_of("FEATURE") == "runtime/.env"


def test_values_are_not_interpolated(tmp_path: Path) -> None:
    _write(tmp_path, ".env", "BASE=x\nURL=${BASE}/path\nPASSWORD='pa$$word'\n")
    layers = read_env(tmp_path, {})
    assert layers.get("URL") == "${BASE}/path"
    assert layers.get("PASSWORD") == "pa$$word"


def test_dotenv_syntax_is_supported(tmp_path: Path) -> None:
    _write(tmp_path, ".env", '# comment\nexport A=1\nB="two words"\nC=three # trailing\n')
    layers = read_env(tmp_path, {})
    assert (layers.get("A"), layers.get("B"), layers.get("C")) == ("1", "two words", "three")


def test_missing_files_leave_only_the_environment(tmp_path: Path) -> None:
    layers = read_env(tmp_path, {"X": "1"})
    assert dict(layers.as_mapping()) == {"X": "1"}
    assert layers.get("Y") is None
    with pytest.raises(KeyError, match="Y is not set"):
        layers.source_of("Y")


def test_unparsable_line_is_an_error_without_echoing_it(tmp_path: Path) -> None:
    _write(tmp_path, ".env", 'A=1\nSECRET="hunter2\nB=2\n')
    with pytest.raises(ValidationFailed) as caught:
        read_env(tmp_path, {})
    assert caught.value.issues == (
        Issue("runtime/.env:2", "cannot parse this line; expected KEY=value"),
    )
    assert "hunter2" not in str(caught.value)


def test_os_environ_is_not_modified(tmp_path: Path) -> None:
    _write(tmp_path, ".env", "PARAKO_TEST_ONLY_IN_FILE=1\n")
    before = dict(os.environ)
    read_env(tmp_path, os.environ)
    assert dict(os.environ) == before


def test_later_changes_to_the_environ_mapping_do_not_leak_in(tmp_path: Path) -> None:
    environ = {"A": "1"}
    layers = read_env(tmp_path, environ)
    environ["A"] = "2"
    assert layers.get("A") == "1"


def test_byte_order_mark_does_not_corrupt_first_key(tmp_path: Path) -> None:
    path = tmp_path / "runtime" / ".env"
    path.parent.mkdir()
    path.write_bytes("\ufeffFIRST=1\n".encode())
    assert read_env(tmp_path, {}).get("FIRST") == "1"


def test_env_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "runtime" / ".env.local"
    path.parent.mkdir()
    path.write_bytes(b"A=\xff\n")
    with pytest.raises(UnreadableFileError, match=r"\.env\.local: not UTF-8 text"):
        read_env(tmp_path, {})
