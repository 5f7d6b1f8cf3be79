"""Shared plumbing for the generator: random streams, the time window and fast string building.

Every stage draws from its own random stream, derived from the seed and a fixed stage key (and a
day number where a stage works day by day). A change to one stage then leaves the output of the
others alone, and no stage depends on how many numbers another one happened to draw.

Time inside the generator is an integer count of seconds since midnight UTC on the first day of
the window ("window seconds"); days are counted from the first day of the window and may be
negative for operations opened before it. Strings are only made at the edge, when a table is
written, and the hot path builds them from byte matrices rather than Python objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

SECONDS_PER_DAY = 86_400
_UNIX_EPOCH = dt.date(1970, 1, 1)

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]


class Stage(IntEnum):
    """Keys of the independent random streams (append only: renumbering changes every bundle)."""

    POPULATION = 1
    ORGANISATION = 2
    LINKAGE = 3
    # 4 is retired: the roster hashes (seed, person, day) instead of drawing from a stream.
    OPERATIONS = 5
    ACTIVITY = 6
    SCENARIOS = 7
    SUBJECT_ORDER = 8
    RECORD_REFERENCES = 9


def stream(seed: int, stage: Stage, *key: int) -> np.random.Generator:
    """A generator for one stage (and optionally one day), independent of every other stream."""
    sequence = np.random.SeedSequence(seed, spawn_key=(int(stage), *key))
    return np.random.Generator(np.random.PCG64(sequence))


@dataclass(frozen=True)
class Window:
    """The period the bundle covers: ``days`` whole UTC days from ``start``."""

    start: dt.date
    days: int

    @property
    def epoch_day(self) -> int:
        """Days from 1970-01-01 to the first day of the window."""
        return (self.start - _UNIX_EPOCH).days

    @property
    def end_seconds(self) -> int:
        """Window seconds at the end of the last day: the moment the force took the export."""
        return self.days * SECONDS_PER_DAY

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)


def iso_dates(window: Window, days: NDArray[np.integer], missing: B | None = None) -> pa.Array:
    """``YYYY-MM-DD`` strings for window-relative day numbers; null where ``missing``."""
    stamps = (np.asarray(days, dtype=np.int64) + window.epoch_day).astype("datetime64[D]")
    text = pa.array(np.datetime_as_string(stamps))
    return _with_nulls(text, missing)


def iso_timestamps(
    window: Window, seconds: NDArray[np.integer], missing: B | None = None
) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SSZ`` strings for window seconds; null where ``missing``."""
    absolute = np.asarray(seconds, dtype=np.int64) + window.epoch_day * SECONDS_PER_DAY
    text = pa.array(np.datetime_as_string(absolute.astype("datetime64[s]"), timezone="UTC"))
    return _with_nulls(text, missing)


def _with_nulls(values: pa.Array, missing: B | None) -> pa.Array:
    if missing is None or not missing.any():
        return values
    return pc.if_else(pa.array(missing), pa.scalar(None, values.type), values)


def write_digits(matrix: NDArray[np.uint8], column: int, width: int, values: I64) -> None:
    """Write ``values`` as zero-padded decimals into ``matrix[:, column:column + width]``."""
    remaining = values.astype(np.int64, copy=True)
    for position in range(column + width - 1, column - 1, -1):
        matrix[:, position] = 48 + remaining % 10
        remaining //= 10


def fixed_width_strings(matrix: NDArray[np.uint8]) -> pa.StringArray:
    """One string per row of an ASCII byte matrix, without making a Python object per row."""
    rows, width = matrix.shape
    offsets = np.arange(rows + 1, dtype=np.int32) * width
    data = np.ascontiguousarray(matrix)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))


def prefixed_numbers(prefix: str, numbers: NDArray[np.integer], width: int) -> pa.StringArray:
    """Identifiers such as ``P000123``: a fixed prefix and a zero-padded number."""
    head = prefix.encode("ascii")
    matrix = np.empty((len(numbers), len(head) + width), dtype=np.uint8)
    matrix[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    write_digits(matrix, len(head), width, np.asarray(numbers, dtype=np.int64))
    return fixed_width_strings(matrix)


def zipf_weights(n: int, exponent: float = 1.0, shift: float = 10.0) -> F64:
    """Zipf-Mandelbrot weights (rank + shift) ** -exponent, normalised.

    The shift flattens the head so the commonest value takes about 2% rather than 15%, which is
    close to British surnames (Smith is about 1.3% of the population).
    """
    weights = (np.arange(1, n + 1, dtype=np.float64) + shift) ** -exponent
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def sample_weighted(rng: np.random.Generator, weights: F64, size: int) -> I64:
    """Indices drawn with probability proportional to ``weights`` (inverse CDF, vectorised)."""
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    drawn = np.searchsorted(cdf, rng.random(size), side="right")
    return np.minimum(drawn, len(weights) - 1).astype(np.int64)


def segment_positions(counts: NDArray[np.integer]) -> I64:
    """For groups of sizes ``counts`` laid end to end, each element's position in its group."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    positions: I64 = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    return positions


def csr(keys: NDArray[np.integer], size: int) -> tuple[I64, I64]:
    """Group row numbers by key: ``order[ptr[k]:ptr[k + 1]]`` are the rows whose key is ``k``."""
    keys = np.asarray(keys, dtype=np.int64)
    order = np.argsort(keys, kind="stable").astype(np.int64)
    counts = np.bincount(keys, minlength=size)
    ptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr, order
