"""An append-only Merkle tree kept on disk, for any number of leaves in bounded memory.

Layout: a directory holding one file per level, ``level-LL.bin``. Level ``L`` holds the 32-byte
hashes of the perfect subtrees of ``2**L`` leaves, in order, so node ``i`` of level ``L`` is at
byte ``32 * i`` and covers leaves ``[i * 2**L, (i + 1) * 2**L)``; level 0 is the leaf hashes. A
tree of ``n`` leaves has exactly ``n >> L`` nodes on level ``L``: about ``64 n`` bytes in all
(6.4 GB for 100 M leaves). Nodes never change once written, so the files only ever grow at the
end, and the root of *any* past size and any proof is a handful of positioned reads (O(log n)):
a past tree is the perfect subtrees given by the binary digits of its size.

Appending hashes a batch level by level with :func:`hash_pairs`, in chunks, so memory stays
bounded however large the batch. Writes are positioned (``pwrite``), lower levels first.

Crash safety is the caller's: the store decides which size is committed (it records the size and
root in a signed checkpoint). This class only promises that

* :meth:`sync` makes everything appended so far durable;
* opening a directory repairs what a crash can leave: a torn tail is cut and upper levels that
  lag behind level 0 are recomputed (or cut back where they run ahead);
* :meth:`truncate` rolls back to a committed size, and an append that names its ``start``
  index is idempotent (leaves already stored must match, and are skipped), so a batch can be
  replayed after a crash.

A store that reopens after a crash therefore calls ``truncate(committed_size)`` and then checks
``root(committed_size)`` against its last checkpoint before appending again. One process
writes at a time; the store's lock sees to that.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from custodes.durable import fsync_path
from custodes.ledger.errors import TreeError
from custodes.ledger.merkle import (
    HASH_SIZE,
    consistency_path,
    hash_pairs,
    inclusion_path,
    node_hash,
    subtree_root,
)

MARKER = "custodes merkle tree v1\n"
MARKER_FILE = "FORMAT"
CHUNK_LEAVES = 1 << 16  # leaves hashed per step of a bulk append (2 MiB of leaf hashes)


_LEVEL_FILE = re.compile(r"level-([0-9]{2})\.bin")


def _level_name(level: int) -> str:
    return f"level-{level:02d}.bin"


class MerkleTree:
    """An RFC 6962 tree over the directory ``path`` (created if missing).

    Use as a context manager, or call :meth:`close`. Sizes and indexes are leaf counts and
    0-based leaf positions.
    """

    def __init__(self, path: Path | str, *, read_only_size: int | None = None) -> None:
        self.path = Path(path)
        self._fds: list[int] = []
        self._size = 0
        # Levels written since the last sync, and whether a level file was created (then the
        # directory, which holds its name, must be synced too).
        self._dirty: set[int] = set()
        self._new_file = False
        self._read_only = read_only_size is not None
        try:
            if read_only_size is not None:
                self._open_read_only(read_only_size)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._check_marker()
                self._open_levels()
        except OSError as error:
            self.close()
            reason = error.strerror or str(error)
            raise TreeError(f"cannot open the Merkle tree at {self.path}: {reason}") from None
        except TreeError:
            self.close()
            raise

    @classmethod
    def reader(cls, path: Path | str, size: int) -> MerkleTree:
        """Open the tree for reading at ``size`` leaves (the size its owner committed).

        Nothing is created or repaired, so a reader may open a tree while its writer appends
        beyond ``size``: stored nodes never change. A tree with fewer than ``size`` leaves is
        damaged (or was cut back), which is a :class:`TreeError`.
        """
        return cls(path, read_only_size=size)

    # -- opening and repair -------------------------------------------------------------------

    def _open_read_only(self, size: int) -> None:
        marker = self.path / MARKER_FILE
        if not marker.is_file() or marker.read_text(errors="replace") != MARKER:
            raise TreeError(f"{self.path} is not a Merkle tree of this version of Custodes")
        if size < 0:
            raise TreeError(f"a tree size is not negative ({size})")
        for level in range(max(1, size.bit_length())):
            path = self.path / _level_name(level)
            if not path.exists():
                break
            self._fds.append(os.open(path, os.O_RDONLY))
        stored = os.fstat(self._fds[0]).st_size // HASH_SIZE if self._fds else 0
        if stored < size:
            raise TreeError(
                f"the Merkle tree at {self.path} holds {stored} leaves, fewer than {size}"
            )
        self._size = size

    def _check_marker(self) -> None:
        marker = self.path / MARKER_FILE
        if marker.exists():
            if marker.read_text(errors="replace") != MARKER:
                raise TreeError(f"{self.path} is not a Merkle tree of this version of Custodes")
            return
        if any(self.path.iterdir()):
            raise TreeError(f"{self.path} is not empty and is not a Merkle tree directory")
        marker.write_text(MARKER)
        fsync_path(self.path)

    def _open_levels(self) -> None:
        """Open every level file there is or should be, and repair them bottom up.

        Level files are opened up to the highest that exists *or* that the size of level 0
        calls for: a crash can leave a level's first node unwritten and its file absent.
        """
        found = [_LEVEL_FILE.fullmatch(name) for name in os.listdir(self.path)]
        highest = max((int(match[1]) for match in found if match), default=0)
        self._open_level(0)
        size = os.fstat(self._fds[0]).st_size // HASH_SIZE
        for level in range(1, max(size.bit_length(), highest + 1)):
            self._open_level(level)
        for level, fd in enumerate(self._fds):
            self._repair_level(level, fd, size >> level)
        self._size = size

    def _open_level(self, level: int) -> int:
        path = self.path / _level_name(level)
        self._new_file |= not path.exists()  # its name is durable once the directory is synced
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._fds.append(fd)
        return fd

    def _repair_level(self, level: int, fd: int, expected: int) -> None:
        """Bring a level to exactly ``expected`` nodes: cut a torn or surplus tail, recompute
        missing nodes from the level below (a crash between writing two levels)."""
        have = os.fstat(fd).st_size // HASH_SIZE
        if os.fstat(fd).st_size != have * HASH_SIZE or have > expected:
            os.ftruncate(fd, min(have, expected) * HASH_SIZE)
            have = min(have, expected)
            self._dirty.add(level)
        if have < expected:
            self._dirty.add(level)
        while have < expected:
            count = min(expected - have, CHUNK_LEAVES)
            below = self._read(level - 1, 2 * have, 2 * count)
            os.pwrite(fd, hash_pairs(below), have * HASH_SIZE)
            have += count

    def close(self) -> None:
        """Close the level files (appended data stays; call :meth:`sync` first to make it
        durable)."""
        while self._fds:
            os.close(self._fds.pop())

    def __enter__(self) -> MerkleTree:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """The number of leaves."""
        return self._size

    def changed_on_disk(self) -> bool:
        """Whether another process changed this tree since this object last wrote it: level 0
        is no longer as long as this tree's size (leaves appended or cut back), or its file was
        replaced. A tree kept open between appends checks this before appending."""
        mine = os.fstat(self._fd(0))
        try:
            named = os.stat(self.path / _level_name(0))
        except FileNotFoundError:
            return True
        replaced = (named.st_dev, named.st_ino) != (mine.st_dev, mine.st_ino)
        return replaced or mine.st_size != self._size * HASH_SIZE

    def _fd(self, level: int) -> int:
        if not self._fds:
            raise TreeError(f"the Merkle tree at {self.path} is closed")
        if self._read_only and level >= len(self._fds):
            raise TreeError(f"{self.path / _level_name(level)} is missing")
        while level >= len(self._fds):
            self._open_level(len(self._fds))
        return self._fds[level]

    def _read(self, level: int, index: int, count: int = 1) -> bytes:
        data = os.pread(self._fd(level), count * HASH_SIZE, index * HASH_SIZE)
        if len(data) != count * HASH_SIZE:
            raise TreeError(f"{self.path / _level_name(level)} is shorter than the tree needs")
        return data

    def _node(self, level: int, index: int) -> bytes:
        return self._read(level, index)

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise TreeError(f"tree size {size} is not in 0..{self._size}")
        return size

    def leaf_hash(self, index: int) -> bytes:
        """The hash stored for leaf ``index``."""
        if not 0 <= index < self._size:
            raise TreeError(f"leaf index {index} is not below the tree size {self._size}")
        return self._read(0, index)

    def leaf_hashes(self, start: int, end: int) -> bytes:
        """The leaf hashes ``[start, end)``, packed (32 bytes each)."""
        if not 0 <= start <= end <= self._size:
            raise TreeError(f"leaf range [{start}, {end}) is not within the tree size {self._size}")
        return self._read(0, start, end - start) if end > start else b""

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the tree at ``size`` leaves (default: now); any past size works."""
        return subtree_root(0, self._check_size(size), self._node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
        size = self._check_size(size)
        if not 0 <= index < size:
            raise TreeError(f"leaf index {index} is not below the tree size {size}")
        return inclusion_path(index, size, self._node)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """The RFC 9162 consistency proof from size ``size1`` to ``size2`` (default: now)."""
        size2 = self._check_size(size2)
        if not 0 < size1 <= size2:
            raise TreeError(
                f"a consistency proof needs 0 < size1 <= size2, not {size1} and {size2}"
            )
        return consistency_path(size1, size2, self._node)

    # -- auditing -----------------------------------------------------------------------------

    def node_ranges(self, chunk: int = CHUNK_LEAVES) -> list[tuple[int, int, int]]:
        """The interior nodes of the tree as ``(level, start, end)`` ranges of at most
        ``chunk`` nodes: the units of :meth:`check_nodes`, which can be checked in any order,
        in parallel."""
        ranges = []
        for level in range(1, self._size.bit_length()):
            count = self._size >> level
            ranges += [(level, a, min(count, a + chunk)) for a in range(0, count, chunk)]
        return ranges

    def check_nodes(self, level: int, start: int, end: int) -> int | None:
        """Recompute nodes ``[start, end)`` of ``level`` (>= 1) from the level below and
        compare them with the stored ones; return the index of the first that differs.

        Leaves checked against their events, plus every interior node checked this way, make
        the whole tree checked: each root and proof is then made of verified nodes.
        """
        if level < 1 or not 0 <= start <= end <= self._size >> level:
            raise TreeError(f"no nodes [{start}, {end}) on level {level} of this tree")
        if end == start:
            return None
        computed = hash_pairs(self._read(level - 1, 2 * start, 2 * (end - start)))
        stored = self._read(level, start, end - start)
        if computed == stored:
            return None
        return start + next(
            i
            for i in range(end - start)
            if computed[i * HASH_SIZE : (i + 1) * HASH_SIZE]
            != stored[i * HASH_SIZE : (i + 1) * HASH_SIZE]
        )

    # -- writing ------------------------------------------------------------------------------

    def append(self, leaf_hashes: Sequence[bytes], *, start: int | None = None) -> int:
        """Append leaf hashes (32 bytes each); return the index of the first.

        With ``start``, the batch belongs at that index: leaves already stored there must be the
        same (they are skipped, so replaying a batch is harmless); a gap is an error.
        """
        for position, item in enumerate(leaf_hashes):
            if len(item) != HASH_SIZE:
                raise TreeError(f"leaf hash {position} is {len(item)} bytes, not {HASH_SIZE}")
        return self.append_packed(b"".join(leaf_hashes), start=start)

    def append_packed(
        self, packed: bytes | bytearray | memoryview, *, start: int | None = None
    ) -> int:
        """Like :meth:`append`, with the hashes packed end to end in one buffer (as a
        fixed-size binary column of Arrow or NumPy holds them); return the first index."""
        self._writable()
        view = memoryview(packed).cast("B")
        if len(view) % HASH_SIZE:
            raise TreeError(f"packed leaf hashes are {len(view)} bytes, not a multiple of 32")
        count = len(view) // HASH_SIZE
        first = self._size if start is None else start
        if not 0 <= first <= self._size:
            raise TreeError(f"cannot append at leaf {first}: the tree has {self._size} leaves")
        stored = min(self._size - first, count)
        for offset in range(0, stored, CHUNK_LEAVES):
            n = min(CHUNK_LEAVES, stored - offset)
            mine = view[offset * HASH_SIZE : (offset + n) * HASH_SIZE]
            theirs = self._read(0, first + offset, n)
            if mine != theirs:
                differing = next(
                    i
                    for i in range(n)
                    if mine[i * HASH_SIZE : (i + 1) * HASH_SIZE]
                    != theirs[i * HASH_SIZE : (i + 1) * HASH_SIZE]
                )
                raise TreeError(
                    f"leaf {first + offset + differing} differs from the one already stored"
                )
        for offset in range(stored, count, CHUNK_LEAVES):
            end = min(count, offset + CHUNK_LEAVES)
            self._append_chunk(view[offset * HASH_SIZE : end * HASH_SIZE])
        return first

    def _append_chunk(self, leaves: memoryview) -> None:
        """Write new leaves at the end, then every new perfect node above them, level by level.

        On each level the new nodes start at index ``first`` (the old node count). When
        ``first`` is odd, the first new parent's left child is already stored: that one node
        is read back.
        """
        first = self._size
        nodes: bytes | memoryview = leaves
        level = 0
        while True:
            os.pwrite(self._fd(level), nodes, first * HASH_SIZE)
            self._dirty.add(level)
            end = first + len(nodes) // HASH_SIZE
            if end >> 1 <= first >> 1:
                break
            view = memoryview(nodes)
            head = b""
            if first & 1:
                head = node_hash(self._read(level, first - 1), bytes(view[:HASH_SIZE]))
                view = view[HASH_SIZE:]
            pairs = len(view) // (2 * HASH_SIZE)
            nodes = head + hash_pairs(view[: 2 * pairs * HASH_SIZE])
            first >>= 1
            level += 1
        self._size += len(leaves) // HASH_SIZE

    def truncate(self, size: int) -> None:
        """Roll the tree back to ``size`` leaves (a committed size after a crash, say).

        Level 0 is cut first: should this be interrupted, reopening cuts the rest.
        """
        self._writable()
        if not 0 <= size <= self._size:
            raise TreeError(f"cannot truncate to {size} leaves: the tree has {self._size}")
        for level in range(len(self._fds)):
            os.ftruncate(self._fd(level), (size >> level) * HASH_SIZE)
            self._dirty.add(level)
        self._size = size

    def _writable(self) -> None:
        if self._read_only:
            raise TreeError(f"the Merkle tree at {self.path} is open for reading only")

    def sync(self) -> None:
        """Make every append and truncation so far durable.

        Only the level files written since the last sync are synced (an append of a few
        leaves touches two or three of some thirty levels), with ``fdatasync``: appending
        changes a file's size, which ``fdatasync`` also makes durable, and nothing else of its
        metadata matters. The directory is synced when a level file was created in it.
        """
        for level in sorted(self._dirty):
            if level < len(self._fds):
                os.fdatasync(self._fds[level])
        self._dirty.clear()
        if self._new_file:
            fsync_path(self.path)
            self._new_file = False
