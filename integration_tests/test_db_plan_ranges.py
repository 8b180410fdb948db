"""Database plans: key-range units are disjoint and complete, against the real PostgreSQL, MariaDB and SQLite.

Each table is planned (``source_solidafy.plan``) into several range units, each unit is read by the
source with ``ReadContext.unit`` (as ``read --plan`` does), and every row of the table must come out
exactly once across the units: dense and sparse integer keys, text keys (mixed case, accents, a
prefix of another), timestamp keys with duplicates at the boundaries and NULLs, an empty table, a
table without a usable key (one unit), and a table growing while its units are read. One test runs
the CLI end to end: ``plan``, four ``read --plan --shard I/4`` processes, then ``state merge``.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import source_solidafy as ss
from integration_tests.helpers import run_cli
from integration_tests.test_db_support import mysql, psql, unique
from source_solidafy.databases import get_database_source
from source_solidafy.scale.units import Plan, Unit
from source_solidafy.source import ReadContext

DB = unique("solidafy_plan_ranges")
N = 3000
WORDS = ["apple", "Apple", "äpfel", "apple pie", "b", "Banana", "zebra", "Zulu", "éclair", "Ω", "a", ""]


def _words() -> list[str]:
    return [f"{WORDS[i % len(WORDS)]}-{i:05d}" if i % 7 else WORDS[i % len(WORDS)] + f"{i}" for i in range(N)]


PG_SETUP = f"""
CREATE TABLE dense (id bigint PRIMARY KEY, v text);
INSERT INTO dense SELECT g, 'v' || g FROM generate_series(1, {N}) g;
CREATE TABLE sparse (id bigint PRIMARY KEY, v text);
INSERT INTO sparse SELECT g::bigint * g * g, 'v' || g FROM generate_series(1, {N}) g;
INSERT INTO sparse VALUES (-9000000000000000000, 'low'), (9000000000000000000, 'high');
CREATE TABLE words (w text COLLATE "C" PRIMARY KEY, n int);
CREATE TABLE linguistic (w text COLLATE "en-x-icu" PRIMARY KEY);
INSERT INTO linguistic SELECT 'w' || g FROM generate_series(1, 100) g;
CREATE TABLE events (n int NOT NULL, at timestamptz, v text);
INSERT INTO events SELECT g, CASE WHEN g % 10 = 0 THEN NULL
  ELSE timestamptz '2024-01-01 00:00:00+00' + (g / 7) * interval '1 minute' END, 'e' || g
  FROM generate_series(1, {N}) g;
CREATE TABLE empty (id int PRIMARY KEY);
CREATE TABLE nokey (v text);
INSERT INTO nokey SELECT 'x' || g FROM generate_series(1, 100) g;
CREATE TABLE growing (id int PRIMARY KEY, v text);
INSERT INTO growing SELECT g * 10, 'v' || g FROM generate_series(1, {N}) g;
"""
MY_SETUP = f"""
CREATE TABLE dense (id bigint PRIMARY KEY, v text);
INSERT INTO dense SELECT seq, CONCAT('v', seq) FROM seq_1_to_{N};
CREATE TABLE sparse (id bigint PRIMARY KEY, v text);
INSERT INTO sparse SELECT seq * seq * seq, CONCAT('v', seq) FROM seq_1_to_{N};
INSERT INTO sparse VALUES (-9000000000000000000, 'low'), (9000000000000000000, 'high');
CREATE TABLE words (w varchar(40) PRIMARY KEY, n int) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
CREATE TABLE linguistic (w varchar(40) PRIMARY KEY) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
INSERT INTO linguistic SELECT CONCAT('w', seq) FROM seq_1_to_100;
CREATE TABLE events (n int NOT NULL, at datetime NULL, v text);
INSERT INTO events SELECT seq, IF(seq % 10 = 0, NULL, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (seq DIV 7) MINUTE),
  CONCAT('e', seq) FROM seq_1_to_{N};
CREATE TABLE empty (id int PRIMARY KEY);
CREATE TABLE nokey (v text);
INSERT INTO nokey SELECT CONCAT('x', seq) FROM seq_1_to_100;
CREATE TABLE growing (id int PRIMARY KEY, v text);
INSERT INTO growing SELECT seq * 10, CONCAT('v', seq) FROM seq_1_to_{N};
"""


class Db:
    """One database: its connector and config, stream names, and a way to run SQL on it."""

    def __init__(self, connector: str, config: dict[str, Any], prefix: str, run: Callable[[str], Any]) -> None:
        self.connector, self.config, self.prefix, self.run = connector, config, prefix, run
        self.source = get_database_source(connector)

    def stream(self, table: str) -> str:
        return self.prefix + table

    def plan(self, table: str, rows_per_unit: int = 700, **kw: Any) -> Plan:
        return ss.plan(self.source, self.config, streams=[self.stream(table)], target_rows_per_unit=rows_per_unit,
                       **kw)

    def read_unit(self, unit: Unit, cursor: str | None = None) -> list[dict[str, Any]]:
        ctx = ReadContext(config=self.config, unit=unit, state=unit.state, cursor_field=cursor)
        return [row for batch in self.source.read_stream(unit.stream, ctx) for row in batch.records.to_pylist()]


def _insert_words(db: Db) -> None:
    values = ", ".join(f"('{w}', {i})" for i, w in enumerate(_words()))
    db.run(f"INSERT INTO words VALUES {values};")


@pytest.fixture(scope="module", params=["postgres", "mariadb", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    if request.param == "postgres":
        psql(f'DROP DATABASE IF EXISTS "{DB}"; CREATE DATABASE "{DB}";')
        it = Db("postgres", {"connection_string": f"postgresql://postgres@127.0.0.1:5432/{DB}", "batch_size": 500},
                "public.", lambda sql: psql(sql, database=DB))
        try:
            psql(PG_SETUP, database=DB)
            _insert_words(it)
            yield it
        finally:
            it.source.close()
            psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE);')
    elif request.param == "mariadb":
        mysql(f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB};")
        it = Db("mariadb", {"host": "127.0.0.1", "port": 3306, "database": DB, "user": "root", "batch_size": 500},
                "", lambda sql: mysql(sql, database=DB))
        try:
            mysql(MY_SETUP, database=DB)
            _insert_words(it)
            yield it
        finally:
            it.source.close()
            mysql(f"DROP DATABASE IF EXISTS {DB};")
    else:
        path = tmp_path_factory.mktemp("plan") / "plan.db"
        con = sqlite3.connect(path)
        _sqlite_setup(con)
        con.close()

        def run(sql: str) -> None:
            c = sqlite3.connect(path)
            c.executescript(sql)
            c.commit()
            c.close()

        it = Db("sqlite", {"connection_string": str(path), "batch_size": 500}, "", run)
        _insert_words(it)
        yield it
        it.source.close()


def _sqlite_setup(con: sqlite3.Connection) -> None:
    con.executescript("""
        CREATE TABLE dense (id INTEGER PRIMARY KEY, v TEXT);
        CREATE TABLE sparse (id INTEGER PRIMARY KEY, v TEXT);
        CREATE TABLE words (w TEXT PRIMARY KEY, n INTEGER);
        CREATE TABLE events (n INTEGER NOT NULL, at TIMESTAMP, v TEXT);
        CREATE TABLE empty (id INTEGER PRIMARY KEY);
        CREATE TABLE nokey (v TEXT);
        CREATE TABLE growing (id INTEGER PRIMARY KEY, v TEXT);
    """)
    con.executemany("INSERT INTO dense VALUES (?, ?)", [(g, f"v{g}") for g in range(1, N + 1)])
    con.executemany("INSERT INTO sparse VALUES (?, ?)",
                    [(g * g * g, f"v{g}") for g in range(1, N + 1)] + [(-9 * 10**18, "low"), (9 * 10**18, "high")])
    con.executemany("INSERT INTO events VALUES (?, ?, ?)",
                    [(g, None if g % 10 == 0 else f"2024-01-01 {(g // 7) // 60:02d}:{(g // 7) % 60:02d}:00", f"e{g}")
                     for g in range(1, N + 1)])
    con.executemany("INSERT INTO nokey VALUES (?)", [(f"x{g}",) for g in range(1, 101)])
    con.executemany("INSERT INTO growing VALUES (?, ?)", [(g * 10, f"v{g}") for g in range(1, N + 1)])
    con.commit()


def _every_row_once(db: Db, plan: Plan, column: str, expected: list[Any], cursor: str | None = None) -> None:
    seen: Counter[Any] = Counter()
    for unit in plan.units:
        seen.update(row[column] for row in db.read_unit(unit, cursor))
    assert sorted(seen.values(), reverse=True)[:1] in ([1], []), [k for k, c in seen.items() if c > 1][:5]
    assert sorted(seen, key=repr) == sorted(expected, key=repr)


def test_dense_integer_keys_cut_at_equal_widths(db: Db) -> None:
    plan = db.plan("dense")
    assert len(plan.units) == 5 and {u.kind for u in plan.units} == {"range"}
    assert {u.estimate.basis for u in plan.units} == {"min/max"}
    _every_row_once(db, plan, "id", list(range(1, N + 1)))


def test_sparse_integer_keys_cut_at_quantiles(db: Db) -> None:
    plan = db.plan("sparse")
    assert len(plan.units) > 1 and {u.estimate.basis for u in plan.units} == {"quantiles"}
    _every_row_once(db, plan, "id", [g**3 for g in range(1, N + 1)] + [-9 * 10**18, 9 * 10**18])
    sizes = [len(db.read_unit(u)) for u in plan.units]
    assert max(sizes) < 3 * min(sizes)  # quantiles balance what equal widths would not


def test_text_keys(db: Db) -> None:
    plan = db.plan("words")
    assert len(plan.units) > 1
    _every_row_once(db, plan, "w", _words())


def test_timestamp_key_with_duplicates_at_boundaries_and_nulls(db: Db) -> None:
    """No primary key: the cursor column is the key; seven rows share each timestamp, every tenth is NULL."""
    plan = db.plan("events", rows_per_unit=600, cursor_fields={db.stream("events"): "at"})
    assert len(plan.units) > 2
    assert all(u.bounds["partitions"][0]["key"] == "at" for u in plan.units)
    _every_row_once(db, plan, "n", list(range(1, N + 1)), cursor="at")


def test_text_key_in_a_linguistic_order_is_not_split(db: Db) -> None:
    """DuckDB compares text by bytes, the database by its collation: ranges of such a key could
    overlap or leave gaps, so the table is read whole (SQLite orders by bytes: split)."""
    if db.connector == "sqlite":
        pytest.skip("SQLite's default collation is byte order")
    plan = db.plan("linguistic", rows_per_unit=10)
    assert [u.kind for u in plan.units] == ["stream"]
    assert len(db.read_unit(plan.units[0])) == 100


def test_empty_table_is_one_unit_that_reads_nothing(db: Db) -> None:
    plan = db.plan("empty")
    assert len(plan.units) == 1
    assert db.read_unit(plan.units[0]) == []


def test_table_without_a_key_is_one_whole_unit(db: Db) -> None:
    plan = db.plan("nokey")
    assert [u.kind for u in plan.units] == ["stream"]
    assert len(db.read_unit(plan.units[0])) == 100


def test_rows_added_while_units_are_read_are_never_read_twice(db: Db) -> None:
    """Rows present at planning are read exactly once; rows inserted between the units' reads (below
    the min, in every range, above the max) at most once."""
    plan = db.plan("growing")
    assert len(plan.units) >= 4
    seen: Counter[int] = Counter(row["id"] for row in db.read_unit(plan.units[0]))
    db.run("INSERT INTO growing VALUES (-5, 'below'), (15, 'first range'), (15005, 'middle'), "
           "(29995, 'late range'), (99999, 'above');")
    try:
        for unit in plan.units[1:]:
            seen.update(row["id"] for row in db.read_unit(unit))
        assert max(seen.values()) == 1
        assert {g * 10 for g in range(1, N + 1)} <= set(seen)
        assert {15005, 29995, 99999} <= set(seen)  # in units read after the insert
    finally:
        db.run("DELETE FROM growing WHERE id IN (-5, 15, 15005, 29995, 99999);")


def test_cursor_max_leaves_later_updates_to_the_next_run(db: Db) -> None:
    plan = db.plan("events", rows_per_unit=600, cursor_fields={db.stream("events"): "at"})
    newest = plan.units[0].bounds["partitions"][0]["cursor_max"]
    assert all(p["cursor_max"] == newest for u in plan.units for p in u.bounds["partitions"])
    db.run("INSERT INTO events VALUES (99999, '2030-01-01 00:00:00', 'after the plan');")
    try:
        read = [row["n"] for u in plan.units for row in db.read_unit(u, cursor="at")]
        assert 99999 not in read and len(read) == N
    finally:
        db.run("DELETE FROM events WHERE n = 99999;")


def test_a_unit_reads_on_the_cursor_it_was_planned_with(db: Db) -> None:
    """``read --plan`` takes no --cursor-field: the unit's bounds name the cursor column."""
    plan = db.plan("events", rows_per_unit=600, cursor_fields={db.stream("events"): "at"})
    unit = plan.units[0]
    batches = list(db.source.read_stream(unit.stream, ReadContext(config=db.config, unit=unit)))
    assert batches and all(b.state is not None and "cursor" in b.state for b in batches)
    stamps = [r["at"] for b in batches for r in b.records.to_pylist() if r["at"] is not None]
    assert stamps == sorted(stamps)


def test_cli_plan_four_shards_and_merge(db: Db, tmp_path: Path) -> None:
    if db.connector != "postgres":
        pytest.skip("one database end to end is enough")
    config = json.dumps(db.config)
    plan_file = tmp_path / "plan.jsonl"
    made = run_cli("plan", "-c", "postgres", "--config-json", config, "--streams", "public.dense",
                   "--target-rows-per-unit", "700", "-o", str(plan_file))
    assert made.rc == 0, made.stderr
    out = tmp_path / "out"
    for i in range(4):
        shard = run_cli("read", "-c", "postgres", "--config-json", config, "--plan", str(plan_file),
                        "--shard", f"{i}/4", "-o", str(out))
        assert shard.rc == 0, shard.stderr
    ids = [json.loads(line)["id"] for f in sorted(out.rglob("*.jsonl")) for line in f.read_text().splitlines()]
    assert sorted(ids) == list(range(1, N + 1))
    merged = run_cli("state", "merge", "--plan", str(plan_file), "--output", str(out))
    assert merged.rc == 0, merged.stderr
