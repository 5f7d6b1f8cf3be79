"""SHA-256 over whole columns: the ledger's hashing when there are thousands of hashes to do.

Ingest appends millions of leaves per batch and ``custodes ledger verify`` recomputes them all.
Called once per hash, :mod:`hashlib` spends most of its time in the interpreter (about half a
microsecond a call, where the SHA-256 of a 400-byte event with the CPU's SHA instructions takes
about 0.15 µs). Apache DataFusion hashes an Arrow column in one call, in native code that uses
those instructions, so a large job costs a fraction of the loop (see ``docs/benchmarks.md``).

Below :data:`BULK_FROM` hashes the plain loop is faster (a DataFusion call costs about 0.3 ms
before it hashes anything) and DataFusion is not even imported, so small ingests, the web
application and the command line do not pay for loading it. Both paths compute exactly the same
bytes; a property test holds them equal.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from datafusion import Expr, SessionContext

HASH = 32
BULK_FROM = 2048  # hashes: below this, one hashlib call each is faster than one DataFusion call
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
_OUTPUT_ROWS = 1 << 16

_local = threading.local()


def _session() -> SessionContext:
    """A DataFusion session for this thread, single-partition: an in-memory column is one
    partition anyway, and callers that want more cores run more processes."""
    context: SessionContext | None = getattr(_local, "context", None)
    if context is None:
        from datafusion import SessionConfig, SessionContext

        config = SessionConfig().with_target_partitions(1).with_batch_size(_OUTPUT_ROWS)
        context = SessionContext(config)
        _local.context = context
    return context


def _select(table: pa.Table, expression: Expr) -> pa.ChunkedArray:
    """``expression`` computed over ``table``'s rows.

    The table is registered for the call and dropped after it: DataFusion 55 keeps a table
    given to ``from_arrow`` or ``create_dataframe`` alive as long as the session (measured: a
    worker grew by the size of every job it hashed), but frees a deregistered one.
    """
    context = _session()
    context.register_record_batches("hashed", [table.to_batches()])
    try:
        result = context.table("hashed").select(expression.alias("value")).to_arrow_table()
    finally:
        context.deregister_table("hashed")
    return result.column("value")


def _packed(column: pa.ChunkedArray) -> bytes:
    """The 32-byte values of a binary column of digests, end to end."""
    digests = column.combine_chunks().cast(pa.binary(HASH))
    start = HASH * digests.offset
    packed: bytes = digests.buffers()[1].to_pybytes()[start : start + HASH * len(digests)]
    return packed


def _as_binary(array: pa.Array) -> pa.Array:
    return array if array.type == pa.binary() else array.cast(pa.binary())


def commitment_leaves(salts: pa.Array, encodings: pa.Array, tag: bytes) -> bytes:
    """The leaf hash of every event, packed: ``SHA-256(0x00 || SHA-256(tag || salt || encoding))``.

    A row whose salt is null gets an arbitrary value: the caller knows which events were erased
    and replaces their leaves.
    """
    return commitment_leaves_of_pieces(salts, [encodings], tag)


def commitment_leaves_of_pieces(
    salts: pa.Array, pieces: Sequence[str | bytes | pa.Array], tag: bytes
) -> bytes:
    """:func:`commitment_leaves` of encodings given in pieces: literal text or bytes, the same
    for every row, and columns without nulls; a row's encoding is its pieces end to end.

    In bulk the pieces are concatenated and hashed in one pass, never joined into a column of
    encodings first (which would copy every event once more).
    """
    columns = [piece for piece in pieces if isinstance(piece, pa.Array)]
    if any(len(column) != len(salts) for column in columns):
        raise ValueError(f"{len(salts)} salts for columns of {[len(c) for c in columns]} rows")
    if len(salts) < BULK_FROM:
        if not len(salts):
            return b""
        binary = [_as_binary_piece(piece) for piece in pieces]
        if columns:
            joined = pc.binary_join_element_wise(*binary, b"")
        else:  # literal text only: the same encoding for every row
            joined = pa.array([b"".join(binary)] * len(salts), pa.binary())
        return _commitment_leaves_loop(salts, joined, tag)
    from datafusion import col, lit
    from datafusion import functions as f

    named = {"salt": _as_binary(salts)}
    parts: list[Expr] = [lit(tag), col("salt")]
    for piece in pieces:
        if isinstance(piece, pa.Array):
            name = f"piece_{len(named)}"
            named[name] = _as_binary(piece)
            parts.append(col(name))
        else:
            parts.append(lit(_as_binary_piece(piece)))
    commitment = f.sha256(f.concat(*parts))
    return _packed(_select(pa.table(named), f.sha256(f.concat(lit(LEAF_PREFIX), commitment))))


def _as_binary_piece(piece: str | bytes | pa.Array) -> bytes | pa.Array:
    if isinstance(piece, str):
        return piece.encode("utf-8")
    if isinstance(piece, bytes):
        return piece
    return _as_binary(piece)


def _commitment_leaves_loop(salts: pa.Array, encodings: pa.Array, tag: bytes) -> bytes:
    salt_at, salt_data = _offsets_and_data(salts)
    enc_at, enc_data = _offsets_and_data(encodings)
    primed = hashlib.sha256(tag)
    sha256 = hashlib.sha256
    out: list[bytes] = []
    append = out.append
    for i in range(len(salts)):
        hasher = primed.copy()
        hasher.update(salt_data[salt_at[i] : salt_at[i + 1]])
        hasher.update(enc_data[enc_at[i] : enc_at[i + 1]])
        append(sha256(LEAF_PREFIX + hasher.digest()).digest())
    return b"".join(out)


def _offsets_and_data(array: pa.Array) -> tuple[list[int], memoryview]:
    """A binary column's value offsets and data buffer, for slicing without copies (a null
    value is an empty slice)."""
    if array.type not in (pa.binary(), pa.large_binary()):
        array = array.cast(pa.binary())
    width = np.int64 if array.type == pa.large_binary() else np.int32
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=width)[array.offset : array.offset + len(array) + 1]
    data = memoryview(buffers[2]) if buffers[2] is not None else memoryview(b"")
    return offsets.tolist(), data


_NODE_HASHER = hashlib.sha256(NODE_PREFIX)


def node_parents(hashes: bytes | bytearray | memoryview) -> bytes:
    """The parents of consecutive sibling pairs, ``SHA-256(0x01 || left || right)``:
    ``hashes`` packs 2k hashes, the result k."""
    view = memoryview(hashes).cast("B")
    if len(view) % (2 * HASH):
        raise ValueError(f"hash_pairs needs whole pairs of hashes, got {len(view)} bytes")
    if len(view) // (2 * HASH) < BULK_FROM:
        return _node_parents_loop(view)
    step = 2 * HASH * _OUTPUT_ROWS
    return b"".join(_node_parents_bulk(view[at : at + step]) for at in range(0, len(view), step))


def _node_parents_bulk(view: memoryview) -> bytes:
    from datafusion import col
    from datafusion import functions as f

    # Each message is 0x01 followed by the pair: 65 bytes, laid out end to end for Arrow.
    pairs = len(view) // (2 * HASH)
    messages = np.empty((pairs, 1 + 2 * HASH), dtype=np.uint8)
    messages[:, 0] = NODE_PREFIX[0]
    messages[:, 1:] = np.frombuffer(view, dtype=np.uint8).reshape(pairs, 2 * HASH)
    offsets = np.arange(0, messages.size + 1, 1 + 2 * HASH, dtype=np.int32)
    column = pa.Array.from_buffers(
        pa.binary(), pairs, [None, pa.py_buffer(offsets), pa.py_buffer(messages)]
    )
    return _packed(_select(pa.table({"message": column}), f.sha256(col("message"))))


def _node_parents_loop(view: memoryview) -> bytes:
    # Copying a hasher already primed with the node prefix and feeding it a memoryview slice
    # avoids building a 65-byte string per node.
    copy = _NODE_HASHER.copy
    parents: list[bytes] = []
    append = parents.append
    for offset in range(0, len(view), 2 * HASH):
        hasher = copy()
        hasher.update(view[offset : offset + 2 * HASH])
        append(hasher.digest())
    return b"".join(parents)
