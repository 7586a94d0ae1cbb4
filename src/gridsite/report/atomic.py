"""Write files and whole output folders atomically.

One file (:func:`atomic_write`): written to a hidden temporary name in the target folder, flushed
to disk, then renamed into place. A reader never sees a half-written output, and a failed write
leaves the previous file untouched. The temporary file is ``.<name>.tmp-<random><suffix>`` beside
the target, e.g. ``.suitability.tif.tmp-3f9a0c1d2e4b5a6f.tif``: it is hidden, names its target,
and keeps the real suffix so that GDAL and OGR drivers that look at the extension still
recognise the format.

A set of files (:func:`staged_folder`): the outputs of a run are written into a fresh hidden
sibling folder ``.<name>.partial-<pid>-<random>`` and swapped into place when all are written, so
that the output folder holds either the complete old set or the complete new set, whenever the
process is stopped. The swap is one ``renameat2(RENAME_EXCHANGE)`` call where Linux offers it,
else two renames through ``.<name>.backup-<pid>-<random>``; folders left by runs that died are
cleaned up (or the backup restored) by the next write to the same folder.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import re
import secrets
import shutil
import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from gridsite.errors import OutputExistsError

__all__ = [
    "atomic_write",
    "atomic_write_text",
    "check_writable",
    "clean_stale_staging",
    "is_temporary_name",
    "staged_folder",
]

logger = logging.getLogger(__name__)


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Raise if ``path`` exists and overwriting it was not asked for.

    Parameters
    ----------
    path
        The output file.
    overwrite
        Whether an existing file at ``path`` may be replaced.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    if not overwrite and path.exists():
        raise OutputExistsError(
            f"output {path} already exists; delete it, choose another output folder, "
            "or pass overwrite=True"
        )


def _temporary_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{secrets.token_hex(8)}{path.suffix}")


#: Names of the hidden temporaries of this module: ``.<name>.tmp-<hex><suffix>`` (one file),
#: ``.<name>.partial-<pid>-<hex>`` and ``.<name>.backup-<pid>-<hex>`` (a staged folder).
_TEMPORARY = re.compile(
    r"^\.(?P<name>.+)\.(?:tmp-[0-9a-f]{16}.*|(?P<kind>partial|backup)-(?P<pid>\d+)-[0-9a-f]{8})$"
)


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` is a temporary of :func:`atomic_write` or :func:`staged_folder`.

    Such hidden files and folders are never outputs.

    Examples
    --------
    >>> is_temporary_name(".sites.csv.tmp-0123456789abcdef.csv"), is_temporary_name("sites.csv")
    (True, False)
    >>> is_temporary_name(".korea.partial-4242-0a1b2c3d")
    True
    """
    return _TEMPORARY.match(name) is not None


def _fsync_file(path: Path) -> None:
    # Flush the data before the rename, so a crash cannot leave a renamed but empty file.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Make a folder's entries (new names, renames) durable. Not every platform can open a folder.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - filesystems that refuse fsync on a folder
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_write(path: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temporary file is not created: the body creates it (GDAL drivers refuse to open some
    formats over an existing empty file). On success it is flushed and moved into place with
    :func:`os.replace`, which is atomic within one filesystem. If the body raises, the temporary
    file is deleted, ``path`` is left as it was, and the exception propagates. Missing parent
    folders of ``path`` are created.

    Parameters
    ----------
    path
        The final output file.
    overwrite
        Whether an existing file at ``path`` may be replaced; checked before the body runs and
        again before the rename.

    Yields
    ------
    Path
        The temporary path the body must write to.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    FileNotFoundError
        If the body did not create the temporary file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     target = Path(folder) / "a.txt"
    ...     with atomic_write(target) as tmp:
    ...         _ = tmp.write_text("hello")
    ...     print(target.read_text())
    hello
    """
    path = Path(path)
    check_writable(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_sibling(path)
    try:
        yield tmp
        if not tmp.is_file():
            raise FileNotFoundError(f"nothing was written to the temporary file {tmp} for {path}")
        _fsync_file(tmp)
        check_writable(path, overwrite=overwrite)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.debug("wrote %s", path)


def atomic_write_text(path: Path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` as UTF-8, atomically, without translating line endings.

    Parameters
    ----------
    path
        The output file.
    text
        The whole content of the file.
    overwrite
        Whether an existing file at ``path`` may be replaced.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return path


# --- whole output folders ----------------------------------------------------------------------

_AT_FDCWD = -100  # <fcntl.h>: paths relative to the current folder
_RENAME_EXCHANGE = 2  # <linux/fs.h>: swap the two paths in one step


def _exchange(a: Path, b: Path) -> bool:
    """Swap the two existing paths ``a`` and ``b`` in one step; False where that is unsupported.

    Linux's ``renameat2(..., RENAME_EXCHANGE)`` (3.15+, glibc 2.28+) is the only way to replace a
    folder with another without a moment where neither is in place; Python has no binding for it,
    hence ctypes.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # pragma: no cover - a C library without renameat2
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # pragma: no cover - old kernel, or a filesystem without the flag (NFS)
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # pragma: no cover - on Windows os.kill(pid, 0) ends the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - alive, owned by another user
        return True
    return True


def _staging_entries(folder: Path) -> list[tuple[Path, str, int]]:
    """Staging and backup folders of ``folder`` in its parent: ``(path, kind, pid)``."""
    if not folder.parent.is_dir():
        return []
    found = []
    for entry in folder.parent.iterdir():
        m = _TEMPORARY.match(entry.name)
        if m is not None and m["kind"] and m["name"] == folder.name:
            found.append((entry, m["kind"], int(m["pid"])))
    return found


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def clean_stale_staging(folder: Path) -> list[Path]:
    """Tidy up what dead writers of ``folder`` left beside it; return the folders removed.

    A staging folder ``.<name>.partial-<pid>-*`` whose process no longer runs is removed. If
    ``folder`` is missing and a dead process left a backup ``.<name>.backup-<pid>-*`` (it was
    stopped between the two renames of a swap), the newest backup is renamed back to ``folder``
    first. Folders of processes that still run are left alone. :func:`staged_folder` calls this
    before it writes.

    Parameters
    ----------
    folder
        An output folder (it need not exist).

    Returns
    -------
    list of Path
        The staging and backup folders removed.
    """
    folder = Path(os.path.abspath(folder))
    dead = [(p, kind) for p, kind, pid in _staging_entries(folder) if not _pid_alive(pid)]
    backups = sorted((p for p, kind in dead if kind == "backup"), key=_mtime_ns)
    if backups and not folder.exists():
        try:
            os.rename(backups[-1], folder)
            logger.warning("restored %s from %s left by a stopped run", folder, backups[-1].name)
        except OSError:  # pragma: no cover - another process restored it first
            pass
    removed = []
    for path, _ in dead:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            logger.info("removed %s, left by a stopped run", path)
    return removed


def _output_folder(folder: Path) -> Path:
    path = Path(os.path.abspath(folder))
    if path.is_symlink():
        path = path.resolve()  # swap the folder the link points to, keep the link
    if path.exists() and not path.is_dir():
        raise OutputExistsError(
            f"output folder {path} is a file; delete it or choose another output folder"
        )
    cwd = Path.cwd().resolve()
    if path.resolve() == cwd or path.resolve() in cwd.parents:
        raise OutputExistsError(
            f"output folder {path} is (or holds) the current folder, which cannot be replaced "
            "as a whole; choose a folder of its own, e.g. maps/<study name>"
        )
    return path


def _check_free(folder: Path, names: Collection[str]) -> None:
    existing = [str(folder / n) for n in names if os.path.lexists(folder / n)]
    if existing:
        raise OutputExistsError(
            f"outputs exist already: {', '.join(existing)}; pass --overwrite (overwrite=True) "
            "or choose another output folder"
        )


def _link_or_copy(src: str, dst: str) -> str:
    # A hard link costs no copy, and the old folder still holds the file until the swap.
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise
        shutil.copy2(src, dst, follow_symlinks=False)  # a filesystem without hard links
    return dst


def _carry_over(old: Path, new: Path, *, drop: Collection[str], overwrite: bool) -> None:
    """Put the entries of ``old`` into ``new`` as hard links (no copies), except those replaced.

    Entries named in ``drop`` are replaced; with ``overwrite``, so are those ``new`` holds.
    """
    if not old.is_dir():
        return
    for entry in sorted(old.iterdir()):
        if entry.name in drop or is_temporary_name(entry.name):
            continue
        dest = new / entry.name
        if os.path.lexists(dest):
            if overwrite:
                continue
            raise OutputExistsError(
                f"output {entry} exists already (written while this run wrote its outputs); "
                "pass --overwrite (overwrite=True) or choose another output folder"
            )
        if entry.is_symlink():
            os.symlink(os.readlink(entry), dest)
        elif entry.is_dir():
            shutil.copytree(entry, dest, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(entry), str(dest))


def _fsync_tree(folder: Path) -> None:
    for dirpath, _, _ in os.walk(folder, topdown=False):
        _fsync_dir(Path(dirpath))


def _rename_new(staging: Path, target: Path) -> bool:
    """Rename ``staging`` to ``target`` if there is no ``target``; False if there is one."""
    if os.path.lexists(target):
        return False
    try:
        os.rename(staging, target)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False  # another writer created it just now
        raise
    return True


@contextmanager
def staged_folder(
    folder: Path,
    *,
    outputs: Collection[str],
    overwrite: bool = False,
    replaces: Collection[str] = (),
) -> Iterator[Path]:
    """Yield a fresh staging folder; on success swap it into place as ``folder``.

    The body writes the run's outputs (the top-level files and folders named in ``outputs``)
    into the yielded folder, a hidden sibling ``.<name>.partial-<pid>-<random>`` of ``folder``.
    When the body returns, the entries of the existing ``folder`` that are not replaced are
    carried over as hard links (``grid/``, ``sensitivity/``, a user's notes), the staging
    folder is flushed to disk and swapped with ``folder`` in one step, and the old folder is
    deleted. So a process stopped at any moment (exception, Ctrl-C, ``kill -9``, power cut)
    leaves ``folder`` with either the complete old set or the complete new set, never a mixture
    or a partial file. If the body raises, the staging folder is removed and ``folder`` is
    untouched. Staging folders of dead processes are removed first (:func:`clean_stale_staging`).

    Without ``overwrite``, nothing existing is replaced: an existing ``folder`` must hold none
    of ``outputs`` nor anything else the body wrote (checked before the body runs and again at
    the swap), and all its entries are carried over. With ``overwrite``, the entries named in
    ``outputs`` or ``replaces`` (outputs of the same writer under other settings, e.g.
    ``routes.geojson`` of a study that no longer routes) or written by the body are dropped: the
    new set replaces the old set as a whole.

    Two processes or threads writing the same folder at the same time each produce a complete
    set; the last swap wins. Run one writer per folder.

    Parameters
    ----------
    folder
        The output folder; created with its parents if missing. A symbolic link is followed
        (the folder it points to is replaced, the link kept). It must not be, or hold, the
        current working folder.
    outputs
        Top-level names the body writes.
    overwrite
        Whether existing outputs may be replaced.
    replaces
        Further top-level names of earlier outputs that the new set replaces (with
        ``overwrite``).

    Yields
    ------
    Path
        The staging folder the body must write into.

    Raises
    ------
    OutputExistsError
        If an output exists and ``overwrite`` is false; if ``folder`` is a file, or is or holds
        the current working folder.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = Path(tmp) / "run"
    ...     with staged_folder(out, outputs=["a.txt"]) as stage:
    ...         _ = atomic_write_text(stage / "a.txt", "new")
    ...     print(sorted(p.name for p in Path(tmp).iterdir()), (out / "a.txt").read_text())
    ['run'] new
    """
    target = _output_folder(Path(folder))
    clean_stale_staging(target)
    if not overwrite:
        _check_free(target, outputs)
    target.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    staging = target.with_name(f".{target.name}.partial-{token}")
    backup = target.with_name(f".{target.name}.backup-{token}")
    staging.mkdir()
    try:
        yield staging
        drop = {*outputs, *replaces} if overwrite else set()
        existed = os.path.lexists(target)
        _carry_over(target, staging, drop=drop, overwrite=overwrite)
        _fsync_tree(staging)
        if not _rename_new(staging, target):
            if not existed and not overwrite:
                raise OutputExistsError(
                    f"output folder {target} was created by another writer while this run "
                    "wrote its outputs; run again (with --overwrite to replace them)"
                )
            if not _exchange(staging, target):
                # Two renames: a stop between them leaves the old set in the backup, which the
                # next write restores (clean_stale_staging).
                os.rename(target, backup)
                os.rename(staging, target)
        _fsync_dir(target.parent)
    except BaseException:
        if os.path.lexists(backup) and not os.path.lexists(target):
            os.rename(backup, target)
        raise
    finally:
        # Before the swap this is the unfinished new set; after it, the replaced old set.
        for leftover in (staging, backup):
            if os.path.lexists(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
    logger.debug("replaced %s", target)
