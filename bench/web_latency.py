"""Latency of the alert queue and case pages under 50 concurrent clients, on SQLite and PostgreSQL.

    python bench/web_latency.py                               # 1 M alerts, 100 k cases, both engines
    python bench/web_latency.py --alerts 100000 --cases 10000 --db sqlite --duration 30

For each engine the command (1) builds, or reuses, a case database seeded with ``--alerts``
alerts and ``--cases`` cases about a small synthetic store (``custodes synth`` + ``custodes
ingest``; see web_latency_seed.py), (2) starts ``custodes serve`` on 127.0.0.1 on a free port,
in its own process, (3) drives it with locust (web_latency_locust.py, in its own process) with
``--users`` signed-in clients, each with its own session on one of ten investigator and two
reviewer accounts, mixing the queue (``/alerts``, ``/api/alerts``) and case pages
(``/cases/{id}``, ``/api/cases/{id}``) for ``--duration`` seconds, and (4) prints one JSON
object: p50, p95 and p99 latency and throughput per endpoint, the CPU each party used, and a
check that every response recorded its one ledger read.

PostgreSQL runs as a private server on loopback (as tests/conftest.py starts one), its data kept
under ``--workdir`` so that the seeded database is reused; it is stopped at the end. The goal
(issue 5) is p95 <= 150 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "web-latency"
GOAL_P95_MS = 150.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def custodes(*arguments: str) -> None:
    subprocess.run([sys.executable, "-m", "custodes", *arguments, "--quiet"], check=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# the store -------------------------------------------------------------------------------------


def base_store(workdir: Path, workforce: int, days: int, seed: int) -> Path:
    """A small synthetic force, generated and ingested once: the HOME every case database is
    copied onto."""
    root = workdir / f"store-w{workforce}-d{days}-s{seed}"
    if not (root / "ready").exists():
        shutil.rmtree(root, ignore_errors=True)
        log(f"generating and ingesting a force of {workforce} people over {days} days")
        custodes(
            "synth",
            "--out",
            str(root / "bundle"),
            "--workforce",
            str(workforce),
            "--days",
            str(days),
            "--seed",
            str(seed),
        )
        custodes("ingest", str(root / "bundle"), "--home", str(root / "home"))
        (root / "ready").touch()
    return root / "home"


# PostgreSQL ------------------------------------------------------------------------------------


def postgres_bin() -> Path:
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise SystemExit("PostgreSQL is not installed: apt-get install -y postgresql")
    return Path(found[-1]).parent


@contextmanager
def postgres(workdir: Path) -> Iterator[tuple[str, int]]:
    """A PostgreSQL server on 127.0.0.1 over ``workdir/pg`` (created on first use, kept for the
    next run); yields (server URL, postmaster pid) and stops the server afterwards. Settings
    are the defaults but for a larger shared_buffers (1 GiB) and loopback only; unlike the test
    server, fsync stays on."""
    bindir = postgres_bin()
    root = workdir / "pg"
    data, log_file = root / "data", root / "server.log"
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        if as_root:
            shutil.chown(root, "postgres", "postgres")
        subprocess.run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "app",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
        )
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c shared_buffers=1GB "
        "-c max_connections=200"
    )
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log_file),
            "-w",
            "-o",
            options,
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        yield f"postgresql+psycopg://app@127.0.0.1:{port}", pid
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )


def pg_execute(server: str, statement: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        cursor = conn.execute(statement.encode())
        return cursor.fetchall() if cursor.description else []


# the case database -----------------------------------------------------------------------------


def build(engine: str, args: argparse.Namespace, store: Path, server: str | None) -> dict[str, Any]:
    """The seeded HOME and case database of one engine and size: reused when already built
    (``--rebuild`` builds afresh). Returns where it is and how it was built."""
    from web_latency_seed import VERSION, Sizes, seed

    from custodes.cases.db import open_cases

    name = f"{engine}-a{args.alerts}-c{args.cases}-s{args.seed}"
    root = args.workdir / name
    database = f"bench_a{args.alerts}_c{args.cases}_s{args.seed}"
    url = f"{server}/{database}" if server else None
    marker = root / "built.json"
    exists = server is None or bool(
        pg_execute(server, f"SELECT 1 FROM pg_database WHERE datname = '{database}'")
    )
    if marker.exists() and exists and not args.rebuild:
        built: dict[str, Any] = json.loads(marker.read_text())
        if built.get("version") == VERSION:
            return built | {"url": url, "reused": True}  # the server's port is new each run
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(store, root / "home")
    if server:
        pg_execute(server, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        pg_execute(server, f'CREATE DATABASE "{database}"')
    log(f"seeding {engine}: {args.alerts:,} alerts, {args.cases:,} cases")
    started = time.perf_counter()
    db = open_cases(root / "home", url)
    try:
        rows = seed(db, Sizes(args.alerts, args.cases, args.seed), log=log)
    finally:
        db.close()
    built = {
        "version": VERSION,
        "home": str(root / "home"),
        "url": url,
        "rows": rows,
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps(built, indent=2))
    return built | {"reused": False}


def plan_accounts(home: Path, url: str | None) -> list[dict[str, Any]]:
    """Each account with the cases it is on and the employee filters it can use (pseudonyms
    for investigators, identifiers for reviewers, as the queue shows them)."""
    from web_latency_seed import PASSWORD, REVIEWERS, SIGNED_IN, cases_of, person_ids

    from custodes.cases.access import pseudonym, pseudonym_key
    from custodes.cases.db import open_cases

    key = pseudonym_key(home)
    db = open_cases(home, url)
    try:
        persons = person_ids(db, 40)
        accounts = []
        for name in SIGNED_IN:
            named = name in REVIEWERS
            accounts.append(
                {
                    "name": name,
                    "password": PASSWORD,
                    "cases": cases_of(db, name, 500),
                    "persons": persons
                    if named
                    else [pseudonym("employee", p, key) for p in persons],
                }
            )
    finally:
        db.close()
    return accounts


def ledger_size(home: Path) -> int:
    with sqlite3.connect(f"file:{home / 'catalog.sqlite'}?mode=ro", uri=True) as catalog:
        row = catalog.execute("SELECT coalesce(max(leaf_index) + 1, 0) FROM system_events")
        return int(row.fetchone()[0])


def reads_recorded(home: Path, since: int) -> dict[str, Any]:
    """The investigator reads appended to the ledger from leaf ``since`` on, and how many
    appends carried them: the reads of one append are stamped microseconds apart, and appends
    are at least a disk sync apart (over half a millisecond)."""
    with sqlite3.connect(f"file:{home / 'catalog.sqlite'}?mode=ro", uri=True) as catalog:
        stamps = [
            datetime.fromisoformat(at.replace("Z", "+00:00"))
            for (at,) in catalog.execute(
                "SELECT recorded_at FROM system_events WHERE kind = 'investigator_read' "
                "AND leaf_index >= ? ORDER BY leaf_index",
                (since,),
            )
        ]
    appends = sum(
        1
        for before, after in zip([None, *stamps], stamps, strict=False)
        if before is None or (after - before).total_seconds() > 0.0005
    )
    return {
        "reads": len(stamps),
        "appends": appends,
        "reads_per_append": round(len(stamps) / appends, 2) if appends else None,
    }


# serving and loading ---------------------------------------------------------------------------


@contextmanager
def serving(home: Path, url: str | None, workdir: Path, workers: int) -> Iterator[tuple[str, int]]:
    """``custodes serve`` in its own process on a free port; yields (address, pid)."""
    port = free_port()
    command = [sys.executable, "-m", "custodes", "serve", "--home", str(home), "--port", str(port)]
    command += ["--workers", str(workers)]
    if url:
        command += ["--db", url]
    server_log = (workdir / "server.log").open("w")
    process = subprocess.Popen(command, stdout=server_log, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise SystemExit(f"custodes serve stopped: see {workdir / 'server.log'}")
            try:
                with urllib.request.urlopen(f"{address}/login", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("custodes serve did not answer within 300 s") from None
                time.sleep(0.5)
        yield address, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server_log.close()


def drive(plan: dict[str, Any], workdir: Path) -> dict[str, Any]:
    plan_file, result_file = workdir / "plan.json", workdir / "result.json"
    plan_file.write_text(json.dumps(plan))
    result_file.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, str(HERE / "web_latency_locust.py"), str(plan_file), str(result_file)],
        check=True,
    )
    result: dict[str, Any] = json.loads(result_file.read_text())
    return result


def cpu_probe() -> float:
    """Milliseconds a fixed pure-Python loop takes now. The host's other tenants are invisible
    from inside this machine (no CPU shows as stolen), but they slow it: runs whose probes
    differ were measured on differently loaded hosts."""
    started = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i & 7
    return round((time.perf_counter() - started) * 1000, 1)


def run_engine(
    engine: str, args: argparse.Namespace, store: Path, server: str | None, pg_pid: int | None
) -> dict[str, Any]:
    from custodes.detect.rules import RULES

    built = build(engine, args, store, server)
    home, url = Path(built["home"]), built["url"]
    accounts = plan_accounts(home, url)
    work = home.parent
    size_before = ledger_size(home)
    probe_before = cpu_probe()
    log(f"serving {engine} and driving it with {args.users} users for {args.duration} s")
    with serving(home, url, work, args.workers) as (address, pid):
        result = drive(
            {
                "host": address,
                "users": args.users,
                "duration": args.duration,
                "warmup": args.warmup,
                "wait": list(args.wait),
                "accounts": accounts,
                "rules": sorted({r.name for r in RULES}),
                "families": sorted({r.family for r in RULES}),
                "server_pid": pid,
                "postgres_pid": pg_pid,
            },
            work,
        )
    reads = reads_recorded(home, size_before)
    return {
        "database": {
            "alerts": built["rows"].get("alerts", 0),
            "cases": built["rows"].get("cases", 0),
            "rows": built["rows"],
            "build_seconds": built["build_seconds"],
            "reused": built["reused"],
        },
        **result,
        "goal_p95_met": all(
            e.get("p95_ms", float("inf")) <= GOAL_P95_MS for e in result["endpoints"].values()
        ),
        "ledger_reads_during_run": reads,
        "cpu_probe_ms": {"before": probe_before, "after": cpu_probe()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50, help="concurrent signed-in clients")
    parser.add_argument("--duration", type=float, default=60, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=10, help="seconds before measuring")
    parser.add_argument(
        "--wait",
        type=float,
        nargs=2,
        default=(1.0, 2.0),
        metavar=("MIN", "MAX"),
        help="each client's think time between requests, in seconds (0 0: none)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (`custodes serve --workers`)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each engine this many times (a fresh server each time) and report every "
        "run and their median: on a shared machine one run says little about the tail",
    )
    parser.add_argument("--pause", type=float, default=20, help="seconds between repeated runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workforce", type=int, default=500, help="the synthetic force's size")
    parser.add_argument("--days", type=int, default=14, help="the synthetic force's days")
    parser.add_argument("--workdir", type=Path, default=OUT)
    parser.add_argument("--rebuild", action="store_true", help="seed the databases afresh")
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    engines = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    store = base_store(args.workdir, args.workforce, args.days, args.seed)
    report: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, load generator, server and database on one machine",
        "users": args.users,
        "server_workers": args.workers,
        "think_time_s": list(args.wait),
        "duration_s": args.duration,
        "goal_p95_ms": GOAL_P95_MS,
        "engines": {},
    }
    for engine in engines:
        runs = []
        for run in range(args.repeat):
            if run:
                time.sleep(args.pause)
            if engine == "postgresql":
                with postgres(args.workdir) as (server, pid):
                    runs.append(run_engine(engine, args, store, server, pid))
            else:
                runs.append(run_engine(engine, args, store, None, None))
            log(f"{engine} run {run + 1}: {summary([runs[-1]])['runs'][0]}")
        report["engines"][engine] = runs[0] if len(runs) == 1 else summary(runs) | {"detail": runs}
    print(json.dumps(report, indent=2))


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each run's overall p50/p95 and its worst endpoint's p95, the median of the runs' p95,
    and in how many runs every endpoint met the goal."""
    compact = [
        {
            "p50_ms": r["all"]["p50_ms"],
            "p95_ms": r["all"]["p95_ms"],
            "worst_endpoint_p95_ms": max(e["p95_ms"] for e in r["endpoints"].values()),
            "goal_p95_met": r["goal_p95_met"],
            "cpu_probe_ms": r["cpu_probe_ms"],
            "others_cpu": round(
                r["cpu_seconds_per_second"].get("machine", 0.0)
                - sum(v for k, v in r["cpu_seconds_per_second"].items() if k != "machine"),
                2,
            ),
        }
        for r in runs
    ]
    p95s = sorted(c["p95_ms"] for c in compact)
    return {
        "runs": compact,
        "median_p95_ms": p95s[len(p95s) // 2],
        "goal_met_in_runs": f"{sum(c['goal_p95_met'] for c in compact)} of {len(compact)}",
    }


if __name__ == "__main__":
    main()
