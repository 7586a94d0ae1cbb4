"""Write files atomically: to a hidden temporary name in the target folder, then rename into place.

A reader never sees a half-written output, and a failed write leaves the previous file untouched.
The temporary file is ``.<name>.tmp-<random><suffix>`` beside the target, e.g.
``.suitability.tif.tmp-3f9a0c1d2e4b5a6f.tif``: it is hidden, names its target, and keeps the real
suffix so that GDAL and OGR drivers that look at the extension still recognise the format.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gridsite.errors import OutputExistsError

__all__ = ["atomic_write", "atomic_write_text", "check_writable"]

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


def _fsync_file(path: Path) -> None:
    # Flush the data before the rename, so a crash cannot leave a renamed but empty file.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
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
