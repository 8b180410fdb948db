"""Config -> ConnectionSpec: URL decoding, credentials kept out of the ATTACH string, SSL mapping."""

from __future__ import annotations

import pytest

from source_solidafy.databases.connection import connection_spec, sql_ident, sql_literal
from source_solidafy.errors import ConfigError, redact


def test_postgres_url_is_decoded_into_the_secret() -> None:
    spec = connection_spec("postgres", {"connection_string": "postgresql://app:p%40ss%3Aw%2Fd@db.x:6543/sh%20op"})
    assert spec.secret == {"host": "db.x", "port": 6543, "user": "app", "password": "p@ss:w/d", "database": "sh op"}
    assert spec.attach == "sslmode=prefer connect_timeout=10"
    assert "p@ss:w/d" in spec.secrets


def test_postgres_url_options_win_over_ssl_mode_field() -> None:
    spec = connection_spec("postgres", {"connection_string": "postgres://u@h/db?sslmode=require", "ssl_mode": "disable"})
    assert spec.attach == "sslmode=require connect_timeout=10"


def test_postgres_fields() -> None:
    spec = connection_spec("postgres", {"host": "h", "port": 5433, "user": "u", "password": "x y'z", "database": "d",
                                        "ssl_mode": "verify-full"})
    assert spec.secret == {"host": "h", "port": 5433, "database": "d", "user": "u", "password": "x y'z"}
    assert "x y'z" not in spec.attach and spec.attach.startswith("sslmode=verify-full")


def test_libpq_string_passes_through_with_its_password_redacted() -> None:
    conn = "host=h dbname=shop user=u password='se cret'"
    spec = connection_spec("postgres", {"connection_string": conn})
    assert spec.attach == conn and spec.secret == {} and spec.database == "shop"
    assert redact(f"could not connect: {conn}", spec.secrets) == "could not connect: host=h dbname=shop user=u password=***"


def test_mysql_url_and_ssl_names() -> None:
    spec = connection_spec("mysql", {"connection_string": "mariadb://root:pw%23@127.0.0.1:3307/app?sslmode=require"})
    assert spec.secret == {"host": "127.0.0.1", "port": 3307, "user": "root", "password": "pw#", "database": "app",
                           "ssl_mode": "required"}
    assert spec.attach == "" and spec.database == "app"
    assert connection_spec("mysql", {"host": "h"}).secret == {"host": "h", "ssl_mode": "preferred"}
    assert connection_spec("mysql", {"host": "h", "ssl_mode": "verify-full"}).secret["ssl_mode"] == "verify_identity"


@pytest.mark.parametrize(
    ("dialect", "config", "message"),
    [
        ("postgres", {}, "needs 'connection_string'"),
        ("mysql", {"database": "x"}, "or 'host'"),
        ("postgres", {"connection_string": "mysql://h/db"}, "must start with postgres:// or postgresql://"),
        ("mysql", {"connection_string": "postgresql://h/db"}, "must start with mysql:// or mariadb://"),
        ("postgres", {"connection_string": "postgresql://u:secretpw@h:notaport/db"}, "port .* is not a number"),
        ("sqlite", {}, "path of the SQLite database file"),
    ],
)
def test_config_errors_name_the_field(dialect: str, config: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        connection_spec(dialect, config)
    assert "secretpw" not in str(info.value)


def test_sqlite_path_forms(tmp_path) -> None:
    path = tmp_path / "a.db"
    for given in (str(path), f"sqlite:///{path}", f"file:{path}"):
        assert connection_spec("sqlite", {"connection_string": given}).attach == str(path)


def test_quoting() -> None:
    assert sql_literal("it's") == "'it''s'"
    assert sql_ident('a"b') == '"a""b"'
