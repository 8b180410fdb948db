"""Confined database connections (the server's): the address checked is the address connected to.

A name that resolves to an allowed address when checked and to another when the database client
resolves it again (DNS rebinding) must not move the connection: PostgreSQL gets ``hostaddr``, MySQL
the checked address itself. Played against the real PostgreSQL and MariaDB: the name used here does
not resolve at all outside the check, so reaching the database proves the pinned address was used.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from integration_tests.test_db_support import mysql, psql, unique
from source_solidafy import confinement
from source_solidafy.confinement import Confinement
from source_solidafy.databases import get_database_source
from source_solidafy.databases.source import DatabaseSource

NAME = "db.rebind.test"
DB = unique("confined")


@pytest.fixture
def checked_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check resolves NAME to 127.0.0.1 and treats it as public; the database clients cannot resolve it."""
    real = socket.getaddrinfo

    def fake(host: str, port: int, *args: object, **kwargs: object) -> list:
        return real("127.0.0.1" if host == NAME else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setattr(confinement, "is_public", lambda address: address == "127.0.0.1")


def _confined(name: str) -> DatabaseSource:
    source = get_database_source(name)
    assert isinstance(source, DatabaseSource)
    source.confinement = Confinement()
    return source


@pytest.fixture(scope="module")
def pg_db() -> Iterator[str]:
    psql(f'DROP DATABASE IF EXISTS "{DB}"; CREATE DATABASE "{DB}";')
    psql("CREATE TABLE pinned (id int);", database=DB)
    try:
        yield DB
    finally:
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE);')


@pytest.fixture(scope="module")
def my_db() -> Iterator[str]:
    mysql(f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB}; CREATE TABLE {DB}.pinned (id int);")
    try:
        yield DB
    finally:
        mysql(f"DROP DATABASE IF EXISTS {DB};")


def test_postgres_connects_to_the_checked_address(checked_name: None, pg_db: str) -> None:
    source = _confined("postgres")
    try:
        assert "public.pinned" in source.stream_names({"connection_string": f"postgresql://postgres@{NAME}:5432/{pg_db}"})
    finally:
        source.close()


def test_mysql_connects_to_the_checked_address(checked_name: None, my_db: str) -> None:
    source = _confined("mysql")
    try:
        assert source.stream_names({"host": NAME, "port": 3306, "user": "root", "database": my_db}) == ["pinned"]
    finally:
        source.close()
