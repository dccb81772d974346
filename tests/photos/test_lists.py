"""The hash-list formats ``causerie hashes import`` reads, and its refusals with line numbers."""

from __future__ import annotations

import pytest

from causerie.photos.hashbank import HashKind
from causerie.photos.lists import HashFileError, parse_hash_argument, parse_hash_list

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ2 = "30a10efd71cc3d429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def kinds(text: str, **options: object) -> list[tuple[HashKind, str]]:
    parsed = parse_hash_list(text, list_name="t", source="f", **options)  # type: ignore[arg-type]
    return [(e.kind, e.value) for e in parsed.entries]


def bad_lines(text: str, **options: object) -> list[int]:
    with pytest.raises(HashFileError) as caught:
        parse_hash_list(text, list_name="t", **options)  # type: ignore[arg-type]
    return [error.line for error in caught.value.errors]


def test_plain_text_with_comments_prefixes_and_kind() -> None:
    text = f"# a list\n\n{MD5}\npdq:{PDQ}  # inline comment\nsha256:{SHA}\npdq {PDQ2.upper()}\n"
    assert kinds(text) == [
        (HashKind.MD5, MD5),
        (HashKind.PDQ, PDQ),
        (HashKind.SHA256, SHA),
        (HashKind.PDQ, PDQ2),
    ]
    both = [(HashKind.PDQ, PDQ), (HashKind.PDQ, PDQ2)]
    assert kinds(f"{PDQ}\n{PDQ2}\n", kind=HashKind.PDQ) == both
    assert kinds(f"{SHA}\n", kind=HashKind.SHA256) == [(HashKind.SHA256, SHA)]


def test_sources_name_the_file_and_line_and_duplicates_collapse() -> None:
    parsed = parse_hash_list(f"{MD5}\n{MD5}\n# c\n{MD5.upper()}\n", list_name="t", source="x.txt")
    assert [e.source for e in parsed.entries] == ["x.txt:1"]


def test_bad_lines_are_reported_with_their_numbers() -> None:
    text = f"{MD5}\nnot a hash\n{PDQ}\nmd5:{PDQ}\npdq:{PDQ[:-1]}z\n\n{MD5[:-2]}\n"
    # 2: not hex; 3: 64 digits without a kind; 4: wrong length for md5; 5: not hex; 7: length
    assert bad_lines(text) == [2, 3, 4, 5, 7]
    assert bad_lines(f"{MD5}\n", kind=HashKind.PDQ) == [1]


def test_hma_and_threatexchange_csv() -> None:
    hma = f"signal_type,signal_value,bank\npdq,{PDQ},b\nvideo_md5,{MD5},b\nurl,http://x,b\n"
    parsed = parse_hash_list(hma, list_name="t")
    assert [(e.kind, e.value) for e in parsed.entries] == [(HashKind.PDQ, PDQ)]
    assert parsed.skipped == {"video_md5": 1, "url": 1} and parsed.format == "csv"
    te = f"indicator_type,indicator,tags\nHASH_PDQ,{PDQ},x\nHASH_MD5,{MD5},y\nHASH_SHA256,{SHA},z\n"
    assert kinds(te) == [(HashKind.PDQ, PDQ), (HashKind.MD5, MD5), (HashKind.SHA256, SHA)]
    quality = f"pdq_hash,quality,id\n{PDQ},100,1\n{PDQ2},87,2\n"
    assert kinds(quality) == [(HashKind.PDQ, PDQ), (HashKind.PDQ, PDQ2)]


def test_tsv_and_headerless_files() -> None:
    tsv = f"signal_type\tsignal_str\npdq\t{PDQ}\nphoto_md5\t{MD5}\n"
    parsed = parse_hash_list(tsv, list_name="t")
    assert parsed.format == "tsv" and len(parsed.entries) == 2
    # pdq-photo-hasher prints hash,quality,filename.
    both = [(HashKind.PDQ, PDQ), (HashKind.PDQ, PDQ2)]
    assert kinds(f"{PDQ},100,a.jpg\n{PDQ2},62,b.jpg\n") == both
    assert kinds(f"{MD5},x\n") == [(HashKind.MD5, MD5)]


def test_csv_bad_rows_and_missing_columns() -> None:
    text = f"signal_type,signal_value\npdq,{PDQ}\npdq,zz\nmd5,{PDQ}\n"
    assert bad_lines(text) == [3, 4]
    assert bad_lines("name,notes\nx,y\n") == [1]


def test_hash_arguments() -> None:
    assert parse_hash_argument(f"pdq:{PDQ}", None) == (HashKind.PDQ, PDQ)
    assert parse_hash_argument(MD5.upper(), None) == (HashKind.MD5, MD5)
    assert parse_hash_argument(SHA, HashKind.SHA256) == (HashKind.SHA256, SHA)
    with pytest.raises(ValueError):
        parse_hash_argument(SHA, None)
    with pytest.raises(ValueError):
        parse_hash_argument(f"tmk:{MD5}", None)
