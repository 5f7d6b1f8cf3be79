"""The load of bench/web_latency.py: locust, headless, as a library, in a process of its own.

    python bench/web_latency_locust.py PLAN.json RESULT.json

Locust monkey-patches the standard library with gevent when it is imported, so it is imported
here only, never by the benchmark's other modules or by the test suite. The plan (written by
web_latency.py) names the server, the accounts with the cases each is on, the filters to use,
the number of users, their think time and how long to measure. Each user signs in with its own
session (``POST /api/login``), then mixes the alert queue (``/alerts``, ``/api/alerts``: the
default page, deep pages, filters by rule, family and score, age, employee, other sorts) and
case pages (``/cases/{id}``, ``/api/cases/{id}``, cases its account is on). Only requests that
finish inside the measured window count; the window opens once every user has signed in and a
warm-up has passed. Latency is the client's: from sending the request to the last byte.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, between, constant, task
from locust.env import Environment

PLAN: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text()) if len(sys.argv) > 1 else {}
ENDPOINTS = ("/alerts", "/api/alerts", "/cases/{id}", "/api/cases/{id}")

signed_in = 0
accounts = itertools.cycle(PLAN.get("accounts", [{}]))
window: dict[str, float] = {}
samples: dict[str, list[float]] = defaultdict(list)
failures: dict[str, list[str]] = defaultdict(list)


def queue_query(rng: random.Random, account: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """One of the queue's usual views, with a label for the breakdown."""
    kind = rng.choices(
        ("first page", "deep page", "rule", "family and score", "age", "employee", "sort"),
        weights=(30, 15, 15, 15, 10, 10, 5),
    )[0]
    query: dict[str, Any] = {}
    if kind == "deep page":
        query["page"] = rng.randint(2, 200)
    elif kind == "rule":
        query["rule"] = rng.choice(PLAN["rules"])
        query["page"] = rng.randint(1, 5)
    elif kind == "family and score":
        query["family"] = rng.choice(PLAN["families"])
        query["min_score"] = rng.choice((0.5, 0.6, 0.7))
    elif kind == "age":
        query["min_age_days"] = rng.choice((7, 30, 90))
        query["sort"] = "detected_at"
    elif kind == "employee":
        query["person"] = rng.choice(account["persons"])
    else:
        query["sort"] = rng.choice(("-last_ts", "score", "-detected_at"))
    return kind, query


class Investigator(FastHttpUser):
    """A person working the queue and their cases, with their own session."""

    wait_time = between(*PLAN["wait"]) if PLAN.get("wait") and PLAN["wait"][1] > 0 else constant(0)

    def on_start(self) -> None:
        global signed_in
        self.account: dict[str, Any] = next(accounts)
        self.rng = random.Random()
        with self.client.post(
            "/api/login",
            json={"name": self.account["name"], "password": self.account["password"]},
            name="sign in",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"sign-in: {response.status_code} {response.text[:200]}")
                raise RuntimeError(f"{self.account['name']} could not sign in")
        signed_in += 1

    def get(self, path: str, endpoint: str, label: str) -> None:
        with self.client.get(
            path, name=f"{endpoint} [{label}]", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {(response.text or '')[:160]}")

    @task(1)
    def queue_page(self) -> None:
        label, query = queue_query(self.rng, self.account)
        self.get(f"/alerts?{urlencode(query)}", "/alerts", label)

    @task(1)
    def queue_api(self) -> None:
        label, query = queue_query(self.rng, self.account)
        self.get(f"/api/alerts?{urlencode(query)}", "/api/alerts", label)

    @task(1)
    def case_page(self) -> None:
        self.get(f"/cases/{self.rng.choice(self.account['cases'])}", "/cases/{id}", "case")

    @task(1)
    def case_api(self) -> None:
        self.get(f"/api/cases/{self.rng.choice(self.account['cases'])}", "/api/cases/{id}", "case")


def on_request(
    request_type: str, name: str, response_time: float, exception: Any = None, **_: Any
) -> None:
    if "opened" not in window or "closed" in window:
        return
    if exception is not None:
        failures[name].append(str(exception)[:200])
    else:
        samples[name].append(float(response_time))


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(times: list[float], errors: int, seconds: float) -> dict[str, Any]:
    ordered = sorted(times)
    if not ordered:
        return {"requests": 0, "failures": errors}
    return {
        "requests": len(ordered),
        "failures": errors,
        "p50_ms": round(percentile(ordered, 0.50), 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "p99_ms": round(percentile(ordered, 0.99), 1),
        "mean_ms": round(sum(ordered) / len(ordered), 1),
        "max_ms": round(ordered[-1], 1),
        "per_second": round(len(ordered) / seconds, 2),
    }


# CPU: who used the machine during the window -------------------------------------------------------


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU of a process so far (0 if it is gone); with ``reaped``, also that of
    its children that have exited (PostgreSQL's backends for connections already closed)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == parent:
                found.append(int(entry.name))
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def cpu_snapshot() -> dict[str, float]:
    server = PLAN.get("server_pid", 0)
    database = PLAN.get("postgres_pid")
    snapshot = {
        "server": cpu_seconds(server, reaped=True) + sum(cpu_seconds(p) for p in children(server)),
        "load generator": cpu_seconds(os.getpid()),
        "machine": machine_busy()[0],
    }
    if database:
        snapshot["postgresql"] = cpu_seconds(database, reaped=True) + sum(
            cpu_seconds(p) for p in children(database)
        )
    return snapshot


def main() -> None:
    users = int(PLAN["users"])
    environment = Environment(user_classes=[Investigator], host=PLAN["host"])
    environment.events.request.add_listener(on_request)
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=users)
    deadline = time.monotonic() + 120
    while signed_in < users:
        if time.monotonic() > deadline or environment.runner is None:
            raise SystemExit(f"only {signed_in} of {users} users signed in within 120 s")
        gevent.sleep(0.1)
    gevent.sleep(float(PLAN["warmup"]))
    before = cpu_snapshot()
    window["opened"] = time.monotonic()
    gevent.sleep(float(PLAN["duration"]))
    window["closed"] = time.monotonic()
    after = cpu_snapshot()
    runner.quit()
    seconds = window["closed"] - window["opened"]
    by_endpoint: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for name in set(samples) | set(failures):
        endpoint = name.split(" [", 1)[0]
        by_endpoint[endpoint] += samples.get(name, [])
        errors[endpoint] += len(failures.get(name, []))
    every = [t for times in samples.values() for t in times]
    result = {
        "seconds": round(seconds, 1),
        "endpoints": {
            e: summary(by_endpoint.get(e, []), errors.get(e, 0), seconds) for e in ENDPOINTS
        },
        "all": summary(every, sum(errors.values()), seconds),
        "by_view": {
            name: summary(samples.get(name, []), len(failures.get(name, [])), seconds)
            for name in sorted(set(samples) | set(failures))
        },
        "cpu_seconds_per_second": {
            k: round((after[k] - before[k]) / seconds, 2) for k in after if k in before
        },
        "failure_examples": sorted({m for ms in failures.values() for m in ms})[:5],
    }
    Path(sys.argv[2]).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
