"""The baseline: known findings that do not fail, for projects adopting the gate gradually.

The file is JSON, sorted, one finding per entry with its readable path, so
that it diffs well in code review::

    {
      "pytest-gcguard-baseline": 1,
      "findings": [
        {"nodeid": "tests/test_graph.py::test_views", "kind": "cycle",
         "fingerprint": "3f1c0a9d2b7e5a41", "path": "Graph --.nodes--> NodeView --._graph--> Graph"}
      ]
    }

A fingerprint is the first 16 hex digits of the SHA-1 of the test's node id,
the kind of finding and its shape (types and edge labels, no addresses,
reprs, indices or line numbers),
so it is the same across runs, machines, memory addresses, line shifts and
Python versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


FORMAT_KEY = "pytest-gcguard-baseline"
VERSION = 1


class BaselineError(ValueError):
    """The baseline file cannot be used (corrupt, wrong version, unreadable)."""


def fingerprint(nodeid: str, kind: str, shape: str) -> str:
    return hashlib.sha1(f"{nodeid}|{kind}|{shape}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    nodeid: str
    kind: str
    fingerprint: str
    path: str  # readable, for reviewers; not compared

    def to_dict(self) -> dict[str, str]:
        return {"nodeid": self.nodeid, "kind": self.kind, "fingerprint": self.fingerprint, "path": self.path}


def load(path: Path) -> dict[str, Entry]:
    """Entries by fingerprint; raises ``BaselineError`` with a reason a person can act on."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file (create it with --gc-guard-update-baseline)") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror}") from None
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except RecursionError:
        # The C scanner recurses once per nesting level (CPython raises, it does not crash).
        raise BaselineError(f"{path}: not a pytest-gcguard baseline (invalid JSON: nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        raise BaselineError(f"{path}: not a pytest-gcguard baseline (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or FORMAT_KEY not in data:
        raise BaselineError(f"{path}: not a pytest-gcguard baseline (no {FORMAT_KEY!r} key)")
    if data[FORMAT_KEY] != VERSION:
        raise BaselineError(
            f"{path}: baseline version {data[FORMAT_KEY]!r}, this pytest-gcguard reads version {VERSION}"
        )
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise BaselineError(f"{path}: 'findings' must be a list")
    entries = {}
    for i, item in enumerate(findings):
        try:
            entry = Entry(str(item["nodeid"]), str(item["kind"]), str(item["fingerprint"]), str(item.get("path", "")))
        except (KeyError, TypeError):
            raise BaselineError(f"{path}: finding #{i} needs 'nodeid', 'kind' and 'fingerprint'") from None
        entries[entry.fingerprint] = entry
    return entries


def render(entries: Iterable[Entry]) -> str:
    ordered = sorted(entries, key=lambda e: (e.nodeid, e.kind, e.fingerprint))
    body = ",\n".join("    " + json.dumps(e.to_dict(), sort_keys=True) for e in ordered)
    findings = f"[\n{body}\n  ]" if ordered else "[]"
    return f'{{\n  "{FORMAT_KEY}": {VERSION},\n  "findings": {findings}\n}}\n'


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as one step: a temporary file beside it, renamed over it.

    Never leaves a half-written file.  Like an ordinary write, it writes
    through a symbolic link (the link stays, its target is replaced), keeps an
    existing file's permissions and gives a new file those the umask allows.
    """
    target = _target(path)
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    fd, temporary = _create_beside(target)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            if mode is not None:
                os.chmod(temporary, mode)
            stream.write(text)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _target(path: Path) -> Path:
    """The file a write to ``path`` lands in: a symbolic link's target (the link itself stays)."""
    return Path(os.path.realpath(path))


def _create_beside(target: Path) -> tuple[int, str]:
    """A new, empty temporary file in ``target``'s directory, opened for writing.

    Not ``tempfile.mkstemp``: it makes the file 0600 whatever the umask, and
    the file then replaces ``target``.  Mode 0666 here is narrowed by the
    umask, as for ``open(path, "w")``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(tempfile.TMP_MAX):
        temporary = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name beside {target}")


def check_writable(path: Path) -> str | None:
    """Why ``path`` cannot be written, or None.  Checked at start-up, not at the end."""
    directory = _target(path).parent  # where write_atomically makes its temporary file
    if path.is_dir():
        return f"{path} is a directory"
    if not directory.is_dir():
        return f"{directory} does not exist"
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=directory)
    except OSError as exc:
        return f"cannot write in {directory}: {exc.strerror}"
    os.close(fd)
    os.unlink(temporary)
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is not writable"
    return None
