"""The witness's state directory: its key, the logs it trusts and what it last cosigned for each.

::

    FORMAT                        "custodes witness v1"
    witness.key                   the witness's private key (PRIVATE+KEY+…), mode 0600
    lock                          held (flock) while a checkpoint is checked and stored
    logs/<origin>.vkey            the log's trusted verifier key(s), one a line
    logs/<origin>.checkpoint      the last checkpoint cosigned for the log, with its signatures

``<origin>`` is the origin with every byte but ``a-z 0-9 - _ .`` written ``%XX`` (and a leading
dot too), so each origin has one file name, on case-insensitive file systems as well. Files are
replaced atomically (a temporary file, ``fsync``, rename, ``fsync`` of the directory), so a crash
leaves the old state or the new one, never a mixture.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from custodes.durable import fsync_path
from custodes.ledger._codec import quote
from custodes.witness.errors import WitnessError

FORMAT = "custodes witness v1\n"
FORMAT_FILE = "FORMAT"
KEY_FILE = "witness.key"
LOCK_FILE = "lock"
LOGS = "logs"
VKEY_SUFFIX = ".vkey"
CHECKPOINT_SUFFIX = ".checkpoint"
MAX_ESCAPED_ORIGIN = 200  # file names are at most 255 bytes; leave room for suffixes
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_.")


def escape_origin(origin: str) -> str:
    """The file name stem for ``origin``: injective, lowercase, no slash, never ``.`` or ``..``."""
    data = origin.encode("utf-8", "surrogatepass")
    out = [
        chr(byte) if byte in _SAFE and not (i == 0 and byte == ord(".")) else f"%{byte:02X}"
        for i, byte in enumerate(data)
    ]
    return "".join(out)


def unescape_origin(stem: str) -> str | None:
    """The origin a file name stem stands for, or None if the stem is not one we write."""
    data = bytearray()
    i = 0
    try:
        while i < len(stem):
            if stem[i] == "%":
                data.append(int(stem[i + 1 : i + 3], 16))
                i += 3
            else:
                data.append(ord(stem[i]))
                i += 1
        origin = data.decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return origin if escape_origin(origin) == stem else None


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` durably: temporary file, fsync, rename, fsync directory."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    fsync_path(path.parent)


class StateDir:
    """The files of a witness's state directory (see the module documentation)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path, skey: str) -> StateDir:
        """Make a new state directory holding the private key ``skey`` (written mode 0600)."""
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise WitnessError(f"{path} already exists and is not an empty directory")
        path.mkdir(parents=True, exist_ok=True)
        (path / LOGS).mkdir()
        fsync_path(path / LOGS)
        key = path / KEY_FILE
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            os.write(fd, (skey + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        write_atomic(path / FORMAT_FILE, FORMAT)
        fsync_path(path)
        fsync_path(path.parent)
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> StateDir:
        """Open an existing state directory, checking its format marker."""
        marker = path / FORMAT_FILE
        try:
            found = marker.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise WitnessError(f"{path} is not a witness state directory (no FORMAT)") from None
        except (OSError, UnicodeDecodeError) as error:
            raise WitnessError(f"cannot read {marker}: {error}") from None
        if found != FORMAT:
            raise WitnessError(f"{marker} says {quote(found.strip())}, not {FORMAT.strip()!r}")
        if not (path / LOGS).is_dir():
            raise WitnessError(f"{path} has no {LOGS} directory")
        return cls(path)

    def read_key(self) -> str:
        """The private key text; refused if the file can be read by anyone but its owner."""
        key = self.path / KEY_FILE
        try:
            mode = stat.S_IMODE(key.stat().st_mode)
            if mode & 0o077:
                raise WitnessError(f"{key} has mode {mode:04o}; make it 0600 (chmod 600 {key})")
            text = key.read_text(encoding="utf-8")
        except OSError as error:
            raise WitnessError(f"cannot read {key}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise WitnessError(f"{key} is not UTF-8 text") from None
        if not text.endswith("\n") or "\n" in text[:-1]:
            raise WitnessError(f"{key} is not one line ending in a newline")
        return text[:-1]

    def _file(self, origin: str, suffix: str) -> Path | None:
        stem = escape_origin(origin)
        if len(stem) > MAX_ESCAPED_ORIGIN:
            return None
        return self.path / LOGS / f"{stem}{suffix}"

    def _read(self, path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise WitnessError(f"cannot read {path}: {error}") from None

    def read_vkeys(self, origin: str) -> list[str] | None:
        """The vkey lines trusted for ``origin``, or None if it is not a known log."""
        text = self._read(self._file(origin, VKEY_SUFFIX))
        if text is None:
            return None
        if not text.endswith("\n"):
            raise WitnessError(f"the key file of {quote(origin)} does not end with a newline")
        return text[:-1].split("\n")

    def write_vkeys(self, origin: str, vkeys: list[str]) -> None:
        path = self._file(origin, VKEY_SUFFIX)
        if path is None:
            raise WitnessError(f"the origin {quote(origin)} is too long for a file name")
        write_atomic(path, "".join(vkey + "\n" for vkey in vkeys))

    def read_checkpoint(self, origin: str) -> str | None:
        """The last cosigned checkpoint note of ``origin``, or None if there is none."""
        return self._read(self._file(origin, CHECKPOINT_SUFFIX))

    def write_checkpoint(self, origin: str, note: str) -> None:
        path = self._file(origin, CHECKPOINT_SUFFIX)
        if path is None:
            raise WitnessError(f"the origin {quote(origin)} is too long for a file name")
        write_atomic(path, note)

    def origins(self) -> list[str]:
        """The origins of the trusted logs, sorted."""
        found = (
            unescape_origin(path.name[: -len(VKEY_SUFFIX)])
            for path in (self.path / LOGS).iterdir()
            if path.name.endswith(VKEY_SUFFIX)
        )
        return sorted(origin for origin in found if origin is not None)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory's lock (an exclusive ``flock``; waits for other holders)."""
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
