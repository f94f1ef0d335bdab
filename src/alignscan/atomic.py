"""The one place alignscan writes files: all-or-nothing sets of outputs.

Every output is rendered in memory first. `write_all` then writes each to a temporary
file in its own folder (flushed and fsynced), and only when every one is complete moves
them into place with `os.replace`. A full disk, a permission error or a failing rename
leaves the previous files as they were (those already replaced are rolled back from
hard-link backups) and no temporary files behind. Outputs that are also inputs are
refused before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from alignscan.errors import AlignscanError

TMP_PREFIX = ".alignscan-"


class OutputClash(AlignscanError, ValueError):
    """An output path is one of the command's input files (after resolving symlinks), or
    two different outputs name the same file."""

    code = "output_clash"
    exit_code = 2

    def __init__(self, output: Path, input_path: Path, role: str = "the input file"):
        self.output, self.input = output, input_path
        super().__init__(
            f"the output {output} is {role} {input_path}; "
            "choose another output path (nothing was written)"
        )


class WriteFailed(AlignscanError, OSError):
    """A set of outputs could not be written; none of them was changed."""

    code = "write_failed"

    def __init__(self, path: Path, exc: OSError):
        self.path = path
        reason = exc.strerror or str(exc)
        super().__init__(exc.errno, f"can't write {path}: {reason} (no file was changed)")


def _key(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def check_outputs(outputs: Iterable[Path], inputs: Iterable[Path | None]) -> None:
    """Raise OutputClash when an output resolves to the same file as an input."""
    known = {_key(p): p for p in inputs if p is not None}
    for out in outputs:
        hit = known.get(_key(out))
        if hit is None and out.exists():
            hit = next((p for p in known.values() if _same_file(out, p)), None)
        if hit is not None:
            raise OutputClash(out, hit)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # also catches hard links
    except OSError:
        return False


def _encode(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def _write_temp(path: Path, data: bytes) -> Path:
    """`data` in a new temporary file next to `path`, flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600 whatever the umask
            with contextlib.suppress(OSError):
                os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        _remove(Path(name))
        raise
    return Path(name)


def _umask() -> int:
    """The process's umask (read by setting it and putting it straight back)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """The mode a new file gets from any tool (0666 less the umask); a file being
    replaced keeps its own, so a report kept private stays private."""
    try:
        st = os.stat(path)
    except OSError:
        return 0o666 & ~_umask()
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else 0o666 & ~_umask()


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _backup(path: Path) -> Path | None:
    """A hard link to the current `path` (None if it does not exist or can't be linked)."""
    if not path.is_file():
        return None
    name = path.parent / f"{TMP_PREFIX}{secrets.token_hex(8)}.bak"
    try:
        os.link(path, name)
    except OSError:
        return None
    return Path(name)


def write_all(outputs: Mapping[Path, str | bytes], inputs: Iterable[Path | None] = ()) -> None:
    """Write every output, or none: see the module docstring. str is written as UTF-8."""
    data: dict[Path, bytes] = {}
    seen: dict[str, Path] = {}
    for p, c in outputs.items():  # the same file named twice is written once...
        content, key = _encode(c), _key(Path(p))
        if key not in seen:
            seen[key] = Path(p)
            data[Path(p)] = content
        elif data[seen[key]] != content:  # ...unless it would get two contents
            raise OutputClash(Path(p), seen[key], "another output")
    check_outputs(data, inputs)
    streams = {p: c for p, c in data.items() if _is_stream(p)}
    data = {p: c for p, c in data.items() if p not in streams}
    locks = _lock_folders({p.parent for p in data})
    try:
        _write_set(data)
    finally:
        for lock in locks:
            _remove(lock)
    for path, content in streams.items():
        _write_stream(path, content)


def _write_set(data: dict[Path, bytes]) -> None:
    """Temporary files for every output, then the commit; an interruption (Ctrl-C,
    SIGTERM) while writing removes the temporary files, and one during the commit is
    held until the set is in place, so no mixed set is ever left."""
    temps: dict[Path, Path] = {}
    path = next(iter(data), Path("."))
    try:
        for path, content in data.items():
            temps[path] = _write_temp(path, content)
        _test_pause("written")
    except BaseException as exc:
        for tmp in temps.values():
            _remove(tmp)
        if isinstance(exc, OSError):
            raise WriteFailed(path, exc) from None
        raise
    with _signals_held():
        _commit(temps)


LOCK_NAME = ".alignscan.lock"
LOCK_WAIT_SECONDS = 10.0


def _lock_folders(folders: Iterable[Path]) -> list[Path]:
    """A lock file (created with O_EXCL, holding our process id) in each folder, so that
    two commands writing the same folder never mix their files: the second waits for the
    first (ALIGNSCAN_LOCK_WAIT seconds, default 10), then refuses. A lock left by a
    process that no longer runs is taken over."""
    held: list[Path] = []
    try:
        for folder in sorted(set(folders), key=_key):
            held.append(_lock(folder))
    except BaseException:
        for lock in held:
            _remove(lock)
        raise
    return held


def _lock(folder: Path) -> Path:
    import time

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteFailed(folder, exc) from None
    lock = folder / LOCK_NAME
    wait = _lock_wait()
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _stale(lock):
                _remove(lock)
                continue
            if time.monotonic() >= deadline:
                busy = OSError(
                    16,
                    f"another alignscan command is writing to {folder} (its lock file "
                    f"{LOCK_NAME}); try again when it has finished",
                )
                raise WriteFailed(folder, busy) from None
            time.sleep(0.05)
            continue
        except OSError as exc:
            raise WriteFailed(folder, exc) from None
        try:  # the lock's content is the owner's pid (for `_stale`), not an output
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return lock


def _lock_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("ALIGNSCAN_LOCK_WAIT", LOCK_WAIT_SECONDS)))
    except ValueError:
        return LOCK_WAIT_SECONDS


def _stale(lock: Path) -> bool:
    """A lock whose process has gone (killed, say); an unreadable one is not stale."""
    try:
        pid = int(lock.read_text(encoding="ascii").strip() or "0")
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would end the process there: go by its age
        import time

        return time.time() - lock.stat().st_mtime > 600
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the duration (the renames), then deliver them."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    wanted = [signal.SIGINT, *([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])]
    old = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in wanted}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if got:
            signal.raise_signal(got[0])


def _test_pause(stage: str) -> None:
    """For the signal tests only: with ALIGNSCAN_TEST_PAUSE=stage:folder, say so (a file
    `paused-<stage>` in the folder) and wait until the folder holds a file `go`."""
    import time

    hook = os.environ.get("ALIGNSCAN_TEST_PAUSE", "")
    if not hook.startswith(stage + ":"):
        return
    folder = Path(hook.split(":", 1)[1])
    (folder / f"paused-{stage}").touch()
    while not (folder / "go").exists():
        time.sleep(0.01)


def _is_stream(path: Path) -> bool:
    """An existing target that is not a regular file (/dev/null, /dev/stdout, a named
    pipe): it is written in place, since replacing it would replace the device itself."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _write_stream(path: Path, content: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError as exc:
        raise WriteFailed(path, exc) from None


def _commit(temps: dict[Path, Path]) -> None:
    """Move the complete temporary files into place; on failure put the old files back."""
    backups = {path: _backup(path) for path in temps}
    done: list[Path] = []
    try:
        for path, tmp in temps.items():
            os.replace(tmp, path)
            done.append(path)
            if len(done) == 1:
                _test_pause("committing")
    except OSError as exc:
        for path in done:
            old = backups.get(path)
            if old is not None:
                with contextlib.suppress(OSError):
                    os.replace(old, path)
            else:
                _remove(path)
        for tmp in temps.values():
            _remove(tmp)
        for old in backups.values():
            if old is not None:
                _remove(old)
        raise WriteFailed(path, exc) from None
    for old in backups.values():
        if old is not None:
            _remove(old)
    for folder in {p.parent for p in temps}:
        _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_one(path: Path, content: str | bytes, inputs: Iterable[Path | None] = ()) -> None:
    """`write_all` for a single file."""
    write_all({path: content}, inputs)


# ----------------------------------------------------------------------------- whose file

_MARKS = {  # what every file alignscan writes of a kind carries near its start
    ".json": (b'"alignscan_version"', b'"norms_version"'),
    ".html": (b'<meta name="generator" content="alignscan',),
    ".htm": (b'<meta name="generator" content="alignscan',),
    ".csv": (
        b"level,id,segment_column,segment_value,group,metric,value",  # result.csv
        b"file,row,column,value,reason,kind",  # --errors
    ),
}
_HEAD_BYTES = 8192


def written_by_alignscan(path: Path) -> bool:
    """Whether an existing file looks like one alignscan wrote, by its own content: a JSON
    document with alignscan's version keys, a report with alignscan's generator tag, a CSV
    with one of alignscan's headers. An empty file, and kinds whose content alignscan can't
    tell apart (a PDF, whose metadata may be compressed; a workbook; a deck), count as its
    own."""
    suffix = path.suffix.lower()
    marks = _MARKS.get(suffix)
    if marks is None:
        return True
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return True
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError:
        return True  # unreadable: the write itself will say why
    head = head.removeprefix(b"\xef\xbb\xbf")
    if suffix == ".csv":
        return head.startswith(marks)
    return any(mark in head for mark in marks)


def foreign_files(outputs: Iterable[Path]) -> list[Path]:
    """The outputs that exist and were not written by alignscan (see `written_by_alignscan`)."""
    return [p for p in outputs if p.exists() and not written_by_alignscan(p)]


def safe_folder_name(stem: str, default: str = "responses") -> str:
    """A folder name made from a file name: no path separators or control characters, no
    leading or trailing dots or spaces; `default` when nothing is left (`...csv` has the
    stem `..`, which would name the parent folder)."""
    name = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in stem)
    name = name.strip(". ")
    return name or default
