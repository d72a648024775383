"""Safe extraction: the zip-slip and zip-bomb corpus is refused, good archives land whole."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from fetcher.errors import ArchiveError
from fetcher.transfer.archives import extract


def make_zip(path: Path, members: dict[str, bytes], *, mode: int | None = None,
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            if mode is not None:
                info.create_system = 3
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def make_tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None,
             compression: str = "") -> Path:
    data = data or {}
    with tarfile.open(path, f"w:{compression}") as tf:
        for info in members:
            body = data.get(info.name)
            if body is not None:
                info.size = len(body)
            tf.addfile(info, io.BytesIO(body) if body is not None else None)
    return path


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def everything_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """(archive folder, destination) inside a sandbox whose whole content is checked."""
    incoming = tmp_path / "sandbox" / "incoming"
    incoming.mkdir(parents=True)
    return incoming, tmp_path / "sandbox" / "data" / "gebco"


def test_plain_zip_extracts_every_file(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = make_zip(incoming / "a.zip", {"x/one.tif": b"II*\0one", "two.nc": b"CDF\x01"})

    paths = extract(archive, dest)

    assert [dest / "two.nc", dest / "x" / "one.tif"] == paths
    expected = b"II*\0one"
    assert expected == (dest / "x" / "one.tif").read_bytes()


def test_plain_tar_gz_extracts_every_file(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = make_tar(incoming / "a.tar.gz", [tar_member("d/one.tif")],
                       {"d/one.tif": b"II*\0"}, "gz")

    assert [dest / "d" / "one.tif"] == extract(archive, dest)


def test_nested_zip_is_extracted_in_place_and_removed(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    inner = make_zip(incoming / "inner.zip", {"raster.tif": b"II*\0inner"})
    archive = make_zip(incoming / "outer.zip", {"sub/inner.zip": inner.read_bytes(),
                                                "readme.txt": b"hi"})

    paths = extract(archive, dest)

    assert [dest / "readme.txt", dest / "sub" / "raster.tif"] == paths
    assert {"readme.txt", "sub", "sub/raster.tif"} == everything_under(dest)


def test_nested_zip_is_kept_when_nested_is_false(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    inner = make_zip(incoming / "inner.zip", {"raster.tif": b"II*\0"})
    archive = make_zip(incoming / "outer.zip", {"inner.zip": inner.read_bytes()})

    assert [dest / "inner.zip"] == extract(archive, dest, nested=False)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../evil.txt", "'..'"),
        ("ok/../../evil.txt", "'..'"),
        ("..\\..\\evil.txt", "'..'"),
        ("/etc/evil.txt", "absolute path"),
        ("C:/evil.txt", "absolute path"),
    ],
)
def test_zip_slip_names_are_refused(layout: tuple[Path, Path], name: str, reason: str) -> None:
    incoming, dest = layout
    archive = make_zip(incoming / "slip.zip", {"good.txt": b"fine", name: b"evil"})

    with pytest.raises(ArchiveError, match=reason) as caught:
        extract(archive, dest)

    assert str(archive) == caught.value.path
    assert set() == everything_under(dest)
    assert {"incoming", "incoming/slip.zip", "data", "data/gebco"} == everything_under(
        dest.parent.parent)


def test_zip_symlink_is_refused(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = make_zip(incoming / "link.zip", {"link": b"/etc/passwd"},
                       mode=stat.S_IFLNK | 0o777)

    with pytest.raises(ArchiveError, match="symbolic link"):
        extract(archive, dest)
    assert set() == everything_under(dest)


def test_zip_device_file_is_refused(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = make_zip(incoming / "dev.zip", {"dev": b""}, mode=stat.S_IFCHR | 0o666)

    with pytest.raises(ArchiveError, match="device"):
        extract(archive, dest)


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (tar_member("evil", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link"),
        (tar_member("evil", tarfile.LNKTYPE, "/etc/passwd"), "hard link"),
        (tar_member("evil", tarfile.CHRTYPE), "device"),
        (tar_member("evil", tarfile.BLKTYPE), "device"),
        (tar_member("evil", tarfile.FIFOTYPE), "device"),
        (tar_member("/abs/evil"), "absolute path"),
        (tar_member("../evil"), "'..'"),
    ],
    ids=["symlink", "hardlink", "chardev", "blockdev", "fifo", "absolute", "dotdot"],
)
def test_unsafe_tar_members_are_refused(layout: tuple[Path, Path], member: tarfile.TarInfo,
                                        reason: str) -> None:
    incoming, dest = layout
    archive = make_tar(incoming / "evil.tar", [tar_member("good.txt"), member],
                       {"good.txt": b"fine"})

    with pytest.raises(ArchiveError, match=reason):
        extract(archive, dest)
    assert set() == everything_under(dest)
    assert not (dest.parent.parent.parent / "evil").exists()


def test_symlink_then_write_through_it_is_refused(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    outside = dest.parent.parent / "outside"
    outside.mkdir()
    archive = make_tar(incoming / "chain.tar",
                       [tar_member("link", tarfile.SYMTYPE, str(outside)),
                        tar_member("link/pwned.txt")], {"link/pwned.txt": b"x"})

    with pytest.raises(ArchiveError):
        extract(archive, dest)
    assert set() == everything_under(outside)


def test_zip_bomb_by_ratio_is_refused(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = make_zip(incoming / "bomb.zip", {"zeros.bin": bytes(8 << 20)})

    with pytest.raises(ArchiveError, match="compression ratio"):
        extract(archive, dest)
    assert set() == everything_under(dest)


def test_zip_bomb_by_total_is_refused(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = make_zip(incoming / "big.zip", {f"f{i}.bin": bytes(1000) for i in range(5)},
                       compression=zipfile.ZIP_STORED)

    with pytest.raises(ArchiveError, match="more than 4000 bytes"):
        extract(archive, dest, max_total=4000)
    assert set() == everything_under(dest)


def test_nested_zips_count_against_one_total(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    inner = make_zip(incoming / "inner.zip", {"a.bin": bytes(3000)},
                     compression=zipfile.ZIP_STORED)
    archive = make_zip(incoming / "outer.zip", {"b.bin": bytes(2000),
                                                "inner.zip": inner.read_bytes()},
                       compression=zipfile.ZIP_STORED)

    with pytest.raises(ArchiveError, match=r"outer\.zip!inner\.zip: .*'a\.bin'"):
        extract(archive, dest, max_total=7000)
    assert set() == everything_under(dest)


def test_tar_bomb_by_ratio_is_refused(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = make_tar(incoming / "bomb.tar.gz", [tar_member("zeros.bin")],
                       {"zeros.bin": bytes(8 << 20)}, "gz")

    with pytest.raises(ArchiveError, match="compression ratio"):
        extract(archive, dest)


def test_zip_with_lying_size_header_is_refused(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = make_zip(incoming / "liar.zip", {"a.bin": b"A" * 100},
                       compression=zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    # Shrink the declared size in the central directory (offset 24 of its record).
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24:central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))

    with pytest.raises(ArchiveError):
        extract(archive, dest)
    assert set() == everything_under(dest)


def test_duplicate_member_names_are_refused(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = incoming / "dup.zip"
    with zipfile.ZipFile(archive, "w") as zf, pytest.warns(UserWarning):
        zf.writestr("a.txt", b"1")
        zf.writestr("a.txt", b"2")

    with pytest.raises(ArchiveError, match="same name"):
        extract(archive, dest)


def test_corrupt_archive_is_an_archive_error(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    archive = incoming / "junk.zip"
    archive.write_bytes(b"<html>not found</html>")

    with pytest.raises(ArchiveError, match="neither a zip nor a tar"):
        extract(archive, dest)


def test_extraction_replaces_files_from_a_previous_run(layout: tuple[Path, Path]) -> None:
    incoming, dest = layout
    dest.mkdir(parents=True)
    (dest / "a.txt").write_bytes(b"old")
    archive = make_zip(incoming / "a.zip", {"a.txt": b"new"})

    extract(archive, dest)

    expected = b"new"
    assert expected == (dest / "a.txt").read_bytes()
