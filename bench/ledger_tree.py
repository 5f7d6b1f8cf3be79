"""Merkle tree store micro-benchmark: append rate, root and proof times, verification times.

    python bench/ledger_tree.py [--sizes 1000000 10000000] [--batch 65536] [--queries 2000]

For each size a fresh tree is built under a temporary directory (``--dir`` to choose where) from
random leaf hashes, appended in batches through ``append_packed`` (the store's path: a packed
column of hashes); the first size is also appended through ``append`` (a list of 32-byte
``bytes``). Generating the random hashes is not timed. Then, at the full size: ``root`` at random
past sizes, inclusion and consistency proofs at random positions, their verification, and proof
sizes. Prints one JSON object per size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from custodes.ledger import MerkleTree, verify_consistency, verify_inclusion


def build(path: Path, size: int, batch: int, packed: bool) -> tuple[MerkleTree, float]:
    """A tree of ``size`` random leaves; returns it and the seconds spent appending."""
    tree = MerkleTree(path)
    spent = 0.0
    done = 0
    while done < size:
        n = min(batch, size - done)
        data = os.urandom(32 * n)
        if packed:
            started = time.perf_counter()
            tree.append_packed(data)
        else:
            hashes = [data[i : i + 32] for i in range(0, len(data), 32)]
            started = time.perf_counter()
            tree.append(hashes)
        spent += time.perf_counter() - started
        done += n
    started = time.perf_counter()
    tree.sync()
    spent += time.perf_counter() - started
    return tree, spent


def per_call_us(calls: Sequence[tuple[Any, ...]], function: Callable[..., object]) -> float:
    """Mean microseconds of ``function(*arguments)`` over ``calls``."""
    started = time.perf_counter()
    for arguments in calls:
        function(*arguments)
    return (time.perf_counter() - started) / len(calls) * 1e6


def measure(size: int, batch: int, queries: int, base: Path, with_list: bool) -> dict[str, object]:
    result: dict[str, object] = {"leaves": size, "batch": batch}
    if with_list:
        path = base / f"list-{size}"
        tree, seconds = build(path, size, batch, packed=False)
        tree.close()
        shutil.rmtree(path)
        result["append_list_leaves_per_s"] = round(size / seconds)
    path = base / f"packed-{size}"
    tree, seconds = build(path, size, batch, packed=True)
    result["append_packed_leaves_per_s"] = round(size / seconds)
    result["append_packed_s"] = round(seconds, 2)
    result["disk_bytes"] = sum(f.stat().st_size for f in path.iterdir())

    rng = random.Random(1)
    sizes = [rng.randrange(1, size + 1) for _ in range(queries)]
    result["root_past_size_us"] = round(per_call_us([(s,) for s in sizes], tree.root), 1)
    root = tree.root()
    indexes = [rng.randrange(size) for _ in range(queries)]
    result["inclusion_proof_us"] = round(
        per_call_us([(i, size) for i in indexes], tree.inclusion_proof), 1
    )
    olds = [rng.randrange(1, size) for _ in range(queries)]
    result["consistency_proof_us"] = round(
        per_call_us([(m, size) for m in olds], tree.consistency_proof), 1
    )

    inclusion = [(tree.leaf_hash(i), i, size, tree.inclusion_proof(i, size), root) for i in indexes]
    consistency = [(m, size, tree.consistency_proof(m, size), tree.root(m), root) for m in olds]
    result["verify_inclusion_us"] = round(per_call_us(inclusion, verify_inclusion), 1)
    result["verify_consistency_us"] = round(per_call_us(consistency, verify_consistency), 1)
    result["inclusion_proof_hashes_max"] = max(len(c[3]) for c in inclusion)
    result["inclusion_proof_bytes_max"] = 32 * max(len(c[3]) for c in inclusion)
    result["consistency_proof_hashes_max"] = max(len(c[2]) for c in consistency)
    tree.close()

    started = time.perf_counter()
    MerkleTree(path).close()
    result["reopen_ms"] = round((time.perf_counter() - started) * 1000, 2)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    shutil.rmtree(path)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--batch", type=int, default=65_536)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to build (default: temp)")
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ledger-bench-", dir=options.dir))
    try:
        for position, size in enumerate(options.sizes):
            result = measure(size, options.batch, options.queries, base, with_list=position == 0)
            print(json.dumps(result), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
