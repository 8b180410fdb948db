"""Names, aliases, config forms and config validation of the database sources (no database needed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from source_solidafy.databases import DATABASE_CONNECTORS, get_database_source
from source_solidafy.errors import ConfigError


def test_names_and_aliases() -> None:
    assert DATABASE_CONNECTORS == ["postgres", "mysql", "sqlite"]
    assert get_database_source("postgresql").name == "postgres"
    assert get_database_source("MariaDB").name == "mysql"
    assert get_database_source("sqlite").name == "sqlite"
    assert get_database_source("stripe") is None


def test_form_and_spec() -> None:
    src = get_database_source("postgres")
    fields = {f.name: f for f in src.config_fields()}
    assert list(fields) == ["connection_string", "host", "port", "database", "user", "password", "ssl_mode",
                            "cursor_fields", "batch_size"]
    assert fields["connection_string"].secret and fields["password"].secret
    assert fields["ssl_mode"].default == "prefer" and fields["batch_size"].default == 10000
    assert fields["cursor_fields"].type == "object"
    spec = src.spec()
    assert spec["required"] == []
    text = str(spec)
    assert "anyOf" not in text and "allOf" not in text
    assert src.category == "Database" and src.streams_dynamic is True


def test_validate_config() -> None:
    src = get_database_source("mysql")
    out = src.validate_config({"host": "h", "port": "3307"})
    assert out["port"] == 3307 and out["batch_size"] == 10000 and out["ssl_mode"] == "prefer"
    with pytest.raises(ConfigError, match="'connection_string'"):
        src.validate_config({"user": "u"})
    with pytest.raises(ConfigError, match="cursor_fields"):
        src.validate_config({"host": "h", "cursor_fields": {"t": 5}})
    with pytest.raises(ConfigError, match="batch_size"):
        src.validate_config({"host": "h", "batch_size": 0})
    with pytest.raises(ConfigError, match="ssl_mode"):
        src.validate_config({"host": "h", "ssl_mode": "sometimes"})


def test_secrets_include_the_url_password() -> None:
    src = get_database_source("postgres")
    assert "pa ss" in src.secrets({"connection_string": "postgresql://u:pa%20ss@h/db"})


def test_streams_need_a_config() -> None:
    with pytest.raises(ConfigError, match="give a config"):
        get_database_source("postgres").stream_names(None)


def test_importing_does_not_load_duckdb_or_pyarrow() -> None:
    code = ("import sys, source_solidafy.databases as d; d.get_database_source('postgres').spec();"
            "print('duckdb' in sys.modules, 'pyarrow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
