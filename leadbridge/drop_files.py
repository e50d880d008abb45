"""Which files of the file drop folder still hold a person's address.

An erasure scrubs the warehouse, not the exports waiting in the drop folder: such a file
keeps the personal data at rest and loads it (again) when it is new or changed. The
erase command lists these files (those set aside as malformed too) for the operator to
remove or edit. CSV and JSONL files
are searched as text, since a column outside the contract (notes) is loaded too;
Parquet files by their email columns (the files source's aliases). Addresses are
compared by their normalized hash, as the warehouse compares them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingestion.sources.files import ALIASES, REJECTED_DIR, SUFFIXES
from leadbridge.erasure import email_hash
from leadbridge.paths import warehouse_path

DROP_DIR_SETTING = "sources.files.drop_dir"  # SOURCES__FILES__DROP_DIR
_EMAIL_COLUMNS = frozenset(ALIASES["email"])
_ADDRESS = re.compile(r"[^\s@,;:<>()\[\]\"'|]+@[^\s@,;:<>()\[\]\"'|]+")


def drop_folders() -> list[Path]:
    """The folders a night reads drops from: the configured one (real accounts) and
    `inbox/` beside the warehouse (the demo's, and the default)."""
    import dlt

    default = warehouse_path().parent / "inbox"
    configured = dlt.config.get(DROP_DIR_SETTING) or dlt.secrets.get(DROP_DIR_SETTING)
    folders = [Path(configured).expanduser().resolve()] if configured else []
    return folders + ([default] if default not in folders else [])


def _set_aside(folder: Path) -> list[Path]:
    rejected = folder / REJECTED_DIR
    return list(rejected.iterdir()) if rejected.is_dir() else []


def _is_email_column(name: object) -> bool:
    return str(name).strip().lower() in _EMAIL_COLUMNS


def _addresses(path: Path) -> Iterator[object]:
    """The addresses in a file: any in a CSV or JSONL text, the email columns' values of
    a Parquet file."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        columns = [name for name in pq.read_schema(path).names if _is_email_column(name)]
        if columns:
            for column in pq.read_table(path, columns=columns).itercolumns():
                yield from column.to_pylist()
        return
    # an export in another encoding is still searched for its (ASCII) addresses
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for line in handle:
            # a sentence's full stop is not part of the address
            yield from (found.rstrip(".") for found in _ADDRESS.findall(line))


@dataclass(frozen=True)
class DropFile:
    """A drop file that holds one of the addresses, or could not be read to tell."""

    path: Path
    unreadable: str | None = None

    def __str__(self) -> str:
        if self.unreadable:
            return f"{self.path} (could not be read, check it by hand: {self.unreadable})"
        return str(self.path)


def files_holding(folders: Iterable[Path], hashes: Iterable[str]) -> list[DropFile]:
    """The drop files of `folders` with an address whose `email_hash` is in `hashes`."""
    wanted = set(hashes)
    found: list[DropFile] = []
    for folder in folders:
        if not wanted or not folder.is_dir():
            continue
        # files the night set aside (`rejected/`) still hold their rows at rest
        candidates = [*folder.iterdir(), *_set_aside(folder)]
        for path in sorted(p for p in candidates if p.suffix.lower() in SUFFIXES):
            try:
                hit = any(
                    isinstance(value, str) and email_hash(value.strip()) in wanted
                    for value in _addresses(path)
                )
            except (OSError, ValueError) as error:  # Arrow's errors are ValueErrors
                found.append(DropFile(path, f"{type(error).__name__}: {error}"))
                continue
            if hit:
                found.append(DropFile(path))
    return found
