"""Every output file of both command lines (``theory`` and ``training``) is written by
``write_atomically``, after ``check`` has refused, before any work, what it must not replace.

An output path that is a symbolic link writes its real target (the link stays a link); a path
that is a folder, a device, a named pipe or a socket is refused in one line, never replaced by a
regular file; the new text goes into a temporary file beside the real target, flushed to disk,
then renamed over it, so that the old file or the new one is whole at every moment. Two options
of one command that name the same file are refused up front (``check_distinct``)."""

import fcntl
import os
import stat
import sys
import tempfile
from pathlib import Path


class OutputError(ValueError):
    """An output file that cannot be written or must not be replaced; one line."""


_KINDS = {
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISFIFO: "a named pipe",
    stat.S_ISSOCK: "a socket",
}


def target(path) -> Path:
    """The real file ``path`` names: its symbolic links followed. OutputError when that is not
    a regular file nor a new path in an existing folder."""
    path = Path(path)
    try:
        real = Path(os.path.realpath(path, strict=False))
    except OSError as error:  # a loop of links
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        if not real.parent.is_dir():
            raise OutputError(
                f"cannot write {path}: the folder {real.parent} does not exist"
            ) from None
        return real
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        raise OutputError(f"{path} is a folder: give a file name")
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS.items() if test(mode)), "not a regular file")
        raise OutputError(
            f"{path} is {kind}: an output is written only to a regular file or a new path"
        )
    return real


RUN_LOCK = "run.lock"  # held (flock) by a training command while it writes its --out


def check(path) -> Path:
    """Refuse, before any work, an output that ``write_atomically`` could not write: ``target``'s
    refusals, a folder where no file can be created, and a folder that a training command is
    writing (its run.lock held). Returns the real target."""
    real = target(path)
    if _in_use(real.parent):
        raise OutputError(
            f"cannot write {path}: its folder is the --out of a training command that "
            f"is running ({RUN_LOCK} is held); choose another file"
        )
    try:
        with tempfile.NamedTemporaryFile(dir=real.parent, prefix=f".{real.name}."):
            pass
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    return real


def _in_use(folder: Path) -> bool:
    try:
        descriptor = os.open(folder / RUN_LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # a file system without flock: nothing to tell
        return False
    finally:
        os.close(descriptor)  # and with it the shared lock just taken
    return False


def same_file(a: Path, b: Path) -> bool:
    """Whether two real paths are one file (the same path, or hard links of one file)."""
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def check_distinct(named: dict[str, object]) -> None:
    """Refuse two options of one command that would write the same file. ``named`` maps an
    option's name (as the user wrote it, e.g. "--report") to its path or None."""
    seen: list[tuple[str, object, Path]] = []
    for option, path in named.items():
        if path is None:
            continue
        real = Path(os.path.realpath(path))  # a path in a folder still to be made is fine here
        for other, other_path, other_real in seen:
            if same_file(real, other_real):
                raise OutputError(
                    f"{other} {other_path} and {option} {path} are the same file: give each its own"
                )
        seen.append((option, path, real))


def write_atomically(path, content, temporary_name: str | None = None, wrap=None) -> None:
    """Write ``content`` (str, bytes, or a function that writes into a binary file) to the real
    target of ``path``, whole or not at all. The temporary file lies beside the target, named
    ``temporary_name`` when given (so that a caller can find what a kill left), else unique.
    ``wrap`` turns the open file into what ``content`` writes to. A file that is replaced keeps
    its permissions; a new one gets those a plain open() would give. Raises OutputError when the
    target is not a file that may be replaced, OSError when the write fails; the temporary file
    is removed on every failure."""
    real = target(path)
    if temporary_name is None:
        descriptor, name = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.")
        temporary = Path(name)
        file = os.fdopen(descriptor, "wb")
    else:
        temporary = real.with_name(temporary_name)
        file = None
    try:
        with file or open(temporary, "wb") as f:
            output = wrap(f) if wrap else f
            if isinstance(content, str):
                output.write(content.encode("utf-8"))
            elif isinstance(content, bytes):
                output.write(content)
            else:
                content(output)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, _mode(real))
        os.replace(temporary, real)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _mode(real: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def read_text(path) -> str:
    """A Markdown file's text, or OutputError naming it when it is missing or not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OutputError(
            f"{path} does not exist: the table is written into a block of an existing file"
        ) from None
    except UnicodeDecodeError as error:
        raise OutputError(
            f"{path} is not UTF-8 text (byte {error.start}): it was left as it is"
        ) from None
    except OSError as error:
        raise OutputError(f"cannot read {path}: {error.strerror or error}") from None


def written(what: str, path, write) -> int:
    """Run ``write()``, which writes ``path``, after the results were printed: 0, or 1 after
    one line on stderr saying that the file was not written (the printed results stand)."""
    try:
        write()
    except (OSError, OutputError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        print(
            f"error: the {what} was not written to {path} ({reason}); what is printed above stands",
            file=sys.stderr,
        )
        return 1
    return 0
