"""Hashes, atomic placement and cleanup of partial files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fetcher.transfer.files import (
    Hasher,
    finalize,
    hash_file,
    part_path,
    remove_partials,
    sha256_file,
)


def test_hash_file_gives_size_sha256_and_md5(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = b"x" * 3_000_000
    path.write_bytes(data)

    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    expected = (len(data), hashlib.sha256(data).hexdigest(), md5)
    assert expected == hash_file(path, Hasher(md5=True))


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")

    assert hashlib.sha256(b"abc").hexdigest() == sha256_file(path)


def test_finalize_renames_the_part_over_the_target(tmp_path: Path) -> None:
    target = tmp_path / "a.tif"
    target.write_bytes(b"old")
    part_path(target).write_bytes(b"new")

    finalize(part_path(target), target)

    expected = (b"new", False)
    assert expected == (target.read_bytes(), part_path(target).exists())


def test_remove_partials_removes_parts_and_sidecars_only(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.tif", "a.tif.part", "a.tif.part.json", "sub/b.zip.part"):
        (tmp_path / name).write_bytes(b"")

    removed = remove_partials(tmp_path)

    assert [tmp_path / "a.tif.part", tmp_path / "a.tif.part.json",
            tmp_path / "sub" / "b.zip.part"] == removed
    expected = ["a.tif", "sub"]
    assert expected == sorted(p.name for p in tmp_path.iterdir())
