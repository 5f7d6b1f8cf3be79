"""The ledger in the store: appends during ingest, the full audit, and the hashing limit.

    python bench/ledger_store.py --workforce 20000 --days 22          (about 10 M events)
    python bench/ledger_store.py --events-csv PATH

1. **Ingest** the events file into an empty store (in this process). The leaves are computed
   in threads beside staging while the file is staged; each batch then appends its leaves to
   the tree and syncs it, which is timed: the append rate is the leaves over that time. The machine's
   CPU time over the whole ingest is recorded too (the workers included), and the peak
   resident memory of this process and all its descendants, sampled every half second.
   The same ingest is run again, into a store that is thrown away, with the hashing switched
   off (each batch appends zero hashes): the difference is what the ledger costs ingest.
2. **Verify**: the full audit (`custodes ledger verify`) of the store, in records per second.
3. **The ledger's capacity**: the stored events, held in memory as staging holds them, put
   through the ledger's part of ingest alone (encoded and hashed in the leaf threads,
   appended, synced), so the ledger's own rate is known apart from staging's, on the same cores.
4. **The hashing limit**, in the same run over the same bytes: a bare single-threaded
   ``hashlib`` loop computing each event's commitment ``SHA-256(TAG || salt || encoding)`` from
   values already in memory (the least any verification must do), and the same loop also
   computing the leaf hashes and the tree's interior nodes (every hash the audit computes).
   Preparing the bytes (reading Parquet, encoding) is not timed.
5. **Per event**, on the first 262,144 stored events, in this process (one core, as a leaf
   worker): the CPU time of reading them from Parquet (the audit's source); of what a worker
   does with rows in memory (the encoding's pieces prepared, then concatenated and hashed in
   one pass); of encoding them into one column, and of hashing that column by the column and
   one ``hashlib`` call at a time; and of an interior node, by the column and one by one.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent / "out"


def events_bundle(args: argparse.Namespace, work: Path) -> Path:
    if args.events_csv is None:
        bundle = OUT / f"force-{args.workforce}x{args.days}"
        if not (bundle / "access_events.csv").exists():
            command = [sys.executable, "-m", "custodes", "synth", "--out", str(bundle)]
            command += ["--workforce", str(args.workforce), "--days", str(args.days), "--quiet"]
            subprocess.run(command, check=True)
        events_csv = bundle / "access_events.csv"
    else:
        events_csv = args.events_csv
    only = work / "events-bundle"
    only.mkdir(parents=True, exist_ok=True)
    link = only / "access_events.csv"
    link.unlink(missing_ok=True)
    link.symlink_to(events_csv.resolve())
    return only


def machine_cpu_seconds() -> float:
    """CPU time used by every process on the machine so far (the ledger's workers are not
    this process's children: a fork server starts them)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def tree_rss_bytes(root: int) -> int:
    """Resident memory of process ``root`` and all its descendants (the ledger's fork server
    and its workers), from ``/proc``; pages shared between them count in each."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


class PeakTreeRss:
    """Samples :func:`tree_rss_bytes` of this process every half second while in use."""

    def __enter__(self) -> PeakTreeRss:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, tree_rss_bytes(os.getpid()))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed_ingest(bundle: Path, home: Path, *, hashing: bool = True) -> dict[str, Any]:
    """Ingest ``bundle`` into ``home``, timing the batches' appends to the tree.

    With ``hashing=False`` the leaves are not computed: every batch appends zero hashes
    instead. That store is thrown away; it shows what ingest costs without the ledger's
    hashing, in the same run.
    """
    # The module (``custodes.store.ingest`` the attribute is the function of that name).
    ingest_module = importlib.import_module("custodes.store.ingest")
    leaves_module = importlib.import_module("custodes.store.leaves")

    spent = {"seconds": 0.0, "leaves": 0}
    original = ingest_module._Batch._append_to_ledger
    staged = leaves_module.StagedLeaves
    patched = {"add": staged.add, "for_chunk": staged.for_chunk}

    def measured(self: Any, clean: bool, counts: Any) -> Any:
        if not hashing and self.leaves is not None:
            self.leaves.stored = counts.stored
        started = time.perf_counter()
        result = original(self, clean, counts)
        spent["seconds"] += time.perf_counter() - started
        spent["leaves"] += result[0].count + 1
        return result

    def zeros(self: Any, chunk: int, recs: Any = None) -> Any:
        n = self.stored
        return leaves_module.Leaves(np.zeros(n, np.int64), bytes(32 * n), np.zeros(n, bool))

    ingest_module._Batch._append_to_ledger = measured
    if not hashing:
        staged.add = lambda self, chunk, part, rows: None
        staged.for_chunk = zeros
    try:
        cpu = machine_cpu_seconds()
        started = time.perf_counter()
        with PeakTreeRss() as rss:
            report = ingest_module.ingest(bundle, home)
        total = time.perf_counter() - started
        cpu = machine_cpu_seconds() - cpu
    finally:
        ingest_module._Batch._append_to_ledger = original
        staged.add, staged.for_chunk = patched["add"], patched["for_chunk"]
    events = report.total.stored
    prefix = "ingest" if hashing else "ingest_without_hashing"
    result = {
        f"{prefix}_seconds": round(total, 2),
        f"{prefix}_events_per_s": round(events / total),
        f"{prefix}_machine_cpu_seconds": round(cpu, 1),
        f"{prefix}_peak_rss_mib_all_processes": round(rss.peak / 2**20),
    }
    if hashing:
        result = {
            "events": events,
            **result,
            "append_seconds": round(spent["seconds"], 2),
            "append_leaves": spent["leaves"],
            "appends_per_s": round(spent["leaves"] / spent["seconds"]),
            "append_share_of_ingest": round(spent["seconds"] / total, 3),
        }
    return result


def timed_verify(home: Path) -> dict[str, Any]:
    from custodes.store import LeafPool, audit, open_store

    with open_store(home) as store, LeafPool() as pool:
        started = time.perf_counter()
        report = audit(store, pool)
        seconds = time.perf_counter() - started
    assert report.ok, report.first_bad
    return {
        "verify_ok": report.ok,
        "verify_leaves": report.size,
        "verify_seconds": round(seconds, 2),
        "verify_records_per_s": round(report.size / seconds),
    }


def hashing_limit(home: Path) -> dict[str, Any]:
    """Bare hashlib loops over the same bytes the audit hashes, one batch at a time."""
    from custodes.ledger.receipt import TAG
    from custodes.store import open_store
    from custodes.store.encoding_columns import encode_events, encoded_columns_sql

    commitments_s = everything_s = 0.0
    events = 0
    with open_store(home) as store:
        spans = store.catalog.event_spans()
        for span in spans:
            listing = ", ".join(f"'{(store.data_dir / f).as_posix()}'" for f in span.files)
            rows = store.db.execute(
                f"SELECT _salt, {encoded_columns_sql()} FROM read_parquet([{listing}], "
                "hive_partitioning = false) ORDER BY _rec"
            ).to_arrow_table()
            inputs = [
                TAG + salt + encoding
                for salt, encoding in zip(
                    rows.column("_salt").to_pylist(), encode_events(rows).to_pylist(), strict=True
                )
            ]
            del rows
            events += len(inputs)
            sha256 = hashlib.sha256
            started = time.perf_counter()
            for data in inputs:
                sha256(data).digest()
            commitments_s += time.perf_counter() - started
            started = time.perf_counter()
            leaves = b"".join([sha256(b"\x00" + sha256(data).digest()).digest() for data in inputs])
            level = leaves
            while len(level) >= 64:  # one interior node per leaf, as the audit recomputes
                view = memoryview(level)
                level = b"".join(
                    [
                        sha256(b"\x01" + view[i : i + 64]).digest()
                        for i in range(0, len(view) - 63, 64)
                    ]
                )
            everything_s += time.perf_counter() - started
    return {
        "bare_events": events,
        "bare_commitment_loop_seconds": round(commitments_s, 2),
        "bare_commitment_loop_per_s": round(events / commitments_s),
        "bare_all_hashes_loop_seconds": round(everything_s, 2),
        "bare_all_hashes_loop_per_s": round(events / everything_s),
    }


def ledger_capacity(home: Path, work: Path) -> dict[str, Any]:
    """The ledger's own throughput on this machine, with nothing else running: the stored
    events, held in memory as staging holds them (pieces of a read block, about 140,000 rows;
    batches of 2 M), go through exactly what ingest does for the ledger: encoded and hashed in
    the leaf threads, their leaves read back per batch, appended to a fresh tree and synced.
    Reading the events into memory beforehand is not timed."""
    from custodes.ledger.tree import MerkleTree
    from custodes.store import LeafPool, open_store
    from custodes.store.encoding_columns import encoded_columns_sql
    from custodes.store.ingest import DEFAULT_BATCH_ROWS
    from custodes.store.leaves import StagedLeaves

    piece_rows = 140_000
    with open_store(home) as store:
        files = [store.data_dir / f for span in store.catalog.event_spans() for f in span.files]
        listing = ", ".join(f"'{f.as_posix()}'" for f in files)
        events = store.db.execute(
            f"SELECT _rec, _salt, {encoded_columns_sql()}, NULL::VARCHAR AS _problem "
            f"FROM read_parquet([{listing}], hive_partitioning = false) ORDER BY _rec"
        ).to_arrow_table()
    batches = [
        [
            events.slice(at, min(piece_rows, start + DEFAULT_BATCH_ROWS - at))
            for at in range(start, min(start + DEFAULT_BATCH_ROWS, events.num_rows), piece_rows)
        ]
        for start in range(0, events.num_rows, DEFAULT_BATCH_ROWS)
    ]
    machine = machine_cpu_seconds()
    started = time.perf_counter()
    with LeafPool(threads=True) as pool, MerkleTree(work / "capacity-tree") as tree:
        staged = StagedLeaves(pool, work / "capacity-leaves")
        for chunk, pieces in enumerate(batches):
            for part, rows in enumerate(pieces):
                staged.add(chunk, part, rows)
            if chunk:  # the batch before is appended while this one is hashed, as in ingest
                tree.append_packed(staged.for_chunk(chunk - 1).packed)
                tree.sync()
        tree.append_packed(staged.for_chunk(len(batches) - 1).packed)
        tree.sync()
        leaves = tree.size
    seconds = time.perf_counter() - started
    cpu = machine_cpu_seconds() - machine
    return {
        "capacity_events": leaves,
        "capacity_seconds": round(seconds, 2),
        "capacity_events_per_s": round(leaves / seconds),
        "capacity_machine_cpu_seconds": round(cpu, 1),
        "capacity_cpu_us_per_event": round(cpu / leaves * 1e6, 2),
    }


def per_event_costs(home: Path, records: int = 262_144) -> dict[str, Any]:
    """What one leaf worker spends per event, on the first ``records`` events of the store, in
    this process (one core): reading them from Parquet (the audit's source; at ingest the
    rows are already in memory), encoding them, hashing them by the column and one by one; and
    per interior node of the tree."""
    from custodes.ledger import bulk
    from custodes.ledger.receipt import TAG
    from custodes.store import open_store
    from custodes.store.encoding_columns import encode_events, encoded_columns_sql
    from custodes.store.leaves import _db, _hash_rows

    with open_store(home) as store:
        span = store.catalog.event_spans()[0]
        listing = ", ".join(f"'{(store.data_dir / f).as_posix()}'" for f in span.files)
    last = span.first_record + records - 1
    source = (
        f"FROM read_parquet([{listing}], hive_partitioning = false) "
        f"WHERE _rec BETWEEN {span.first_record} AND {last}"
    )
    db = _db()  # single-threaded, as in a worker

    def cpu_ns(run: Any) -> tuple[float, Any]:
        started = time.process_time()
        out = run()
        return (time.process_time() - started) * 1e9, out

    read_ns, table = cpu_ns(
        lambda: db.execute(f"SELECT _rec, _salt, {encoded_columns_sql()} {source}").to_arrow_table()
    )
    encode_events(table.slice(0, 100))  # its lookup tables are built once per process
    encode_ns, encodings = cpu_ns(lambda: encode_events(table))
    n = table.num_rows
    _hash_rows(table.slice(0, bulk.BULK_FROM))  # DataFusion loaded
    worker_ns, _ = cpu_ns(lambda: _hash_rows(table))
    salts = table.column("_salt").combine_chunks()
    bulk.commitment_leaves(salts[: bulk.BULK_FROM], encodings[: bulk.BULK_FROM], TAG)  # load it
    column_ns, leaves = cpu_ns(lambda: bulk.commitment_leaves(salts, encodings, TAG))
    loop_ns, _ = cpu_ns(lambda: bulk._commitment_leaves_loop(salts, encodings, TAG))
    pairs = len(leaves) // 64 * 64
    nodes_column_ns, _ = cpu_ns(lambda: bulk.node_parents(leaves[:pairs]))
    nodes_loop_ns, _ = cpu_ns(lambda: bulk._node_parents_loop(memoryview(leaves[:pairs])))
    return {
        "worker_events": n,
        "worker_read_ns_per_event": round(read_ns / n),
        "worker_encode_joined_ns_per_event": round(encode_ns / n),
        "worker_encode_and_hash_in_one_pass_ns_per_event": round(worker_ns / n),
        "worker_hash_by_column_ns_per_event": round(column_ns / n),
        "worker_hash_one_by_one_ns_per_event": round(loop_ns / n),
        "node_by_column_ns": round(nodes_column_ns / (pairs // 64)),
        "node_one_by_one_ns": round(nodes_loop_ns / (pairs // 64)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events-csv", type=Path)
    parser.add_argument("--workforce", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the generated bundle")
    args = parser.parse_args()
    work = OUT / "ledger-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    bundle = events_bundle(args, work)
    home = work / "home"
    result: dict[str, Any] = {}
    result.update(timed_ingest(bundle, home))
    result.update(timed_ingest(bundle, work / "without-hashing", hashing=False))
    result["ledger_share_of_ingest"] = round(
        1 - result["ingest_without_hashing_seconds"] / result["ingest_seconds"], 3
    )
    result.update(timed_verify(home))
    result.update(ledger_capacity(home, work))
    result.update(hashing_limit(home))
    result.update(per_event_costs(home))
    result["verify_vs_bare_commitment_loop"] = round(
        result["verify_seconds"] / result["bare_commitment_loop_seconds"], 2
    )
    result["verify_vs_bare_all_hashes_loop"] = round(
        result["verify_seconds"] / result["bare_all_hashes_loop_seconds"], 2
    )
    print(json.dumps(result), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    if args.events_csv is None and not args.keep:
        shutil.rmtree(OUT / f"force-{args.workforce}x{args.days}", ignore_errors=True)


if __name__ == "__main__":
    main()
