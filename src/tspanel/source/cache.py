"""One load per dataset directory per process, shared by every session; reloaded when files change."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from tspanel.schema import ATTACKS, FLAGS, REVIEWERS
from tspanel.source.dataset import Dataset
from tspanel.source.files import dataset_directory
from tspanel.source.loaders import load_dataset

_cache_lock = threading.Lock()
_cache: dict[tuple[Path, bool | None], tuple[tuple[tuple[str, int, int], ...], Dataset]] = {}


def _stat_files(directory: Path) -> Iterator[tuple[str, int, int]]:
    for table in (FLAGS, REVIEWERS, ATTACKS):
        for candidate in (directory / f"{table.name}.csv", directory / f"{table.name}.parquet", directory / table.name):
            if candidate.is_file():
                files: tuple[Path, ...] = (candidate,)
            elif candidate.is_dir():
                files = tuple(sorted(p for p in candidate.rglob("*") if p.is_file()))
            else:
                continue
            for file in files:
                try:
                    stat = file.stat()
                except OSError:  # removed while we looked: the fingerprint changes either way
                    continue
                yield str(file.relative_to(directory)), stat.st_mtime_ns, stat.st_size


def _resolved(path: str | Path) -> Path:
    """The absolute path; a symbolic-link loop raises DataError, as load_dataset would."""
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError):  # RuntimeError: "Symlink loop" before Python 3.13
        return dataset_directory(path)  # raises the DataError naming the problem


def dataset_fingerprint(path: str | Path) -> tuple[tuple[str, int, int], ...]:
    """(file, mtime, size) of every table file: changes whenever the data on disk does."""
    directory = _resolved(path)
    return tuple(_stat_files(directory)) if directory.is_dir() else ()


def load_dataset_cached(path: str | Path, *, materialise: bool | None = None) -> Dataset:
    """load_dataset shared by every session of the process; reloads when a table file changes."""
    key = (_resolved(path), materialise)
    with _cache_lock:  # one load at a time: sessions opening together share the first one's result
        fingerprint = dataset_fingerprint(key[0])
        hit = _cache.get(key)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
        dataset = load_dataset(path, materialise=materialise)
        _cache[key] = (fingerprint, dataset)
        return dataset


def clear_dataset_cache() -> None:
    """Forget every cached dataset (tests; or to free memory)."""
    with _cache_lock:
        _cache.clear()
