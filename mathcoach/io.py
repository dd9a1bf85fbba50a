"""Files that are either whole or absent: every writer goes through a temporary file and a rename.

Example: ``with atomic_writer("train.jsonl") as f: f.write(line)`` -- on any exception the target is untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mathcoach.errors import DataError, UserError


class OutputError(UserError, OSError):
    """An output path cannot be written; the message names it and says why."""


def check_writable(path: str | os.PathLike) -> Path:
    """Fail before any work is done if ``path`` cannot become a file (parents are created)."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"output path {p} is a directory; give a file name")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create directory {p.parent}: {e.strerror or e}") from None
    try:  # the only reliable test (root ignores permissions; /proc and full disks do not)
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".probe", dir=p.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"cannot write {p}: {e.strerror or e}") from None
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "w") -> Iterator:
    p = check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the user's usual permissions
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, obj) -> None:
    with atomic_writer(path) as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """All rows of a JSONL file; a bad line raises DataError naming the file and line number."""
    rows = []
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise DataError(f"cannot read {os.fspath(path)}: {e.strerror or e}") from None
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: expected a JSON object per line")
            rows.append(row)
    return rows


def read_jsonl_whole_lines(path: str | os.PathLike) -> tuple[list[dict], int]:
    """The rows of a file that a killed writer may have left mid-line, and the byte length of its whole lines.
    A last line without its newline (or one that does not parse) is the torn write of a killed run: dropped."""
    data = Path(path).read_bytes() if Path(path).is_file() else b""
    end = data.rfind(b"\n") + 1
    rows = []
    for n, line in enumerate(data[:end].decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{n}: not valid JSON ({e.msg}); move the file away to start afresh") from None
    return rows, end


class JsonlLog:
    """Append-only JSONL that survives a kill: each ``write`` appends whole lines and flushes them to the OS, so a
    SIGKILL leaves every finished batch on disk. ``keep`` bytes of an existing file are kept (the whole lines a
    resumed run continues from); anything after them is cut. ``rewrite`` replaces it atomically at the end."""

    def __init__(self, path: str | os.PathLike, keep: int = 0):
        self.path = check_writable(path)
        self.f = open(self.path, "r+b" if keep and self.path.exists() else "wb")  # noqa: SIM115 -- held open
        self.f.truncate(keep)
        self.f.seek(keep)

    def write(self, rows: list[dict]) -> None:
        if rows:
            self.f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
            self.f.flush()

    def close(self) -> None:
        self.f.close()

    def rewrite(self, rows: list[dict]) -> None:
        self.close()
        with atomic_writer(self.path) as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not self.f.closed:
            self.close()
