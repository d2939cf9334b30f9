"""Tests for the streaming multipart/form-data reader (api/multipart.py)."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import AsyncIterator, Iterable, Sequence
from urllib.parse import quote

import httpx
import pytest

from api.multipart import MultipartError, MultipartReader, Part

pytestmark = pytest.mark.asyncio

BOUNDARY = "kho-test-boundary-1234"
CT = f"multipart/form-data; boundary={BOUNDARY}"
CHUNK_SIZES = [1, 7, 64 * 1024, None]  # None: the whole body in one chunk


class Stream:
    """Async byte iterator over a body, cut into fixed-size chunks."""

    def __init__(self, body: bytes | Sequence[bytes], chunk_size: int | None = None) -> None:
        if isinstance(body, bytes):
            size = chunk_size or max(len(body), 1)
            self.chunks = [body[i : i + size] for i in range(0, len(body), size)]
        else:
            self.chunks = list(body)
        self.index = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self.index >= len(self.chunks):
            raise StopAsyncIteration
        self.index += 1
        return self.chunks[self.index - 1]

    @property
    def exhausted(self) -> bool:
        return self.index >= len(self.chunks)


def part_bytes(
    name: str | None,
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    disposition: str | None = None,
    extra_headers: Iterable[str] = (),
) -> bytes:
    if disposition is None:
        disposition = "form-data"
        if name is not None:
            disposition += f'; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
    headers = [f"Content-Disposition: {disposition}"]
    if content_type is not None:
        headers.append(f"Content-Type: {content_type}")
    headers.extend(extra_headers)
    head = "".join(h + "\r\n" for h in headers).encode("utf-8")
    return f"--{BOUNDARY}\r\n".encode() + head + b"\r\n" + data + b"\r\n"


def body_of(*parts: bytes, preamble: bytes = b"", epilogue: bytes = b"\r\n") -> bytes:
    return preamble + b"".join(parts) + f"--{BOUNDARY}--".encode() + epilogue


async def collect(
    body: bytes, chunk_size: int | None = None, content_type: str = CT, **kwargs: int
) -> list[tuple[Part, bytes, list[bytes]]]:
    """Parse everything; return (part, body, chunks) triples."""
    reader = MultipartReader(Stream(body, chunk_size), content_type, **kwargs)
    result = []
    while (part := await reader.next_part()) is not None:
        chunks = [chunk async for chunk in part]
        result.append((part, b"".join(chunks), chunks))
    return result


def httpx_body(**kwargs: object) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x", **kwargs)  # type: ignore[arg-type]
    return request.read(), request.headers["content-type"]


# -- round trips ------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_fields_and_file_round_trip(chunk_size: int | None) -> None:
    binary = bytes(range(256)) * 40
    body = body_of(
        part_bytes("title", "Giấy khai sinh".encode()),
        part_bytes("file", binary, filename="scan.pdf", content_type="application/pdf"),
        part_bytes("empty", b""),
        part_bytes("note", b"last"),
    )
    parts = await collect(body, chunk_size)
    assert [(p.name, p.filename, p.content_type, data) for p, data, _ in parts] == [
        ("title", None, None, "Giấy khai sinh".encode()),
        ("file", "scan.pdf", "application/pdf", binary),
        ("empty", None, None, b""),
        ("note", None, None, b"last"),
    ]
    for _, _, chunks in parts:
        assert all(chunks), "empty chunks must not be yielded"
        if chunk_size is not None:
            assert all(len(c) <= chunk_size for c in chunks)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_boundary_lookalikes_round_trip(chunk_size: int | None) -> None:
    b = BOUNDARY.encode()
    tricky = b"".join(
        [
            b"\r\n\r\n--\r\nx",
            b"--" + b + b"\r\n",  # boundary without the leading CRLF
            b"\r\n--" + b[:-1] + b"\r\n",  # truncated boundary
            b"\r\n--" + b + b"X",  # boundary followed by a non-delimiter char
            b"\r\n--" + b + b"-X",  # half a closing delimiter
            b"\r\n--" + b + b"\rX",  # CR without LF
            b"\r\n-" + b"\r\r\n\n" + b"\x00\xff" * 100,
            b"\r\n--" + b[:5],  # a boundary prefix right before the real one
        ]
    )
    body = body_of(
        part_bytes("a", tricky, filename="a.bin"),
        part_bytes("b", tricky + b"\r\n"),
        part_bytes("c", b"\r\n"),
    )
    parts = await collect(body, chunk_size)
    assert [(p.name, data) for p, data, _ in parts] == [
        ("a", tricky),
        ("b", tricky + b"\r\n"),
        ("c", b"\r\n"),
    ]


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_httpx_encoder_round_trip(chunk_size: int | None) -> None:
    rng = random.Random(7)
    blob = rng.randbytes(300_000) + b"\r\n--\r\n" * 50
    body, content_type = httpx_body(
        data={"kind": "birth_certificate", "title": "Giấy khai sinh của con"},
        files=[
            ("file", ("Giấy khai sinh.pdf", blob, "application/pdf")),
            ("file", ("second.bin", b"\r\n", "application/octet-stream")),
        ],
    )
    parts = await collect(body, chunk_size, content_type)
    got = [(p.name, p.filename, p.content_type, data) for p, data, _ in parts]
    assert got == [
        ("kind", None, None, b"birth_certificate"),
        ("title", None, None, "Giấy khai sinh của con".encode()),
        ("file", "Giấy khai sinh.pdf", "application/pdf", blob),
        ("file", "second.bin", "application/octet-stream", b"\r\n"),
    ]


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 13, 64, 1000])
async def test_randomised_payloads(chunk_size: int) -> None:
    """Random payloads built from boundary fragments survive any split."""
    rng = random.Random(chunk_size)
    delim = b"\r\n--" + BOUNDARY.encode()
    pieces = [delim[:k] for k in range(1, len(delim))] + [
        b"\r",
        b"\n",
        b"-",
        b"x",
        b"\x00",
    ]
    for _ in range(20):
        payloads = [
            b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
            for _ in range(rng.randrange(1, 5))
        ]
        body = body_of(*(part_bytes(f"p{i}", p) for i, p in enumerate(payloads)))
        # Irregular chunking as well as fixed-size chunking.
        cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, 30)))
        irregular = [body[i:j] for i, j in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        for stream_body in (body, irregular):
            reader = MultipartReader(Stream(stream_body, chunk_size), CT)
            got = []
            while (part := await reader.next_part()) is not None:
                got.append(await part.read(10_000))
            assert got == payloads


async def test_multiple_parts_order_preserved_with_same_name() -> None:
    body = body_of(*(part_bytes("tag" if i % 2 else f"f{i}", str(i).encode()) for i in range(10)))
    parts = await collect(body, 5)
    assert [(p.name, d) for p, d, _ in parts] == [
        ("tag" if i % 2 else f"f{i}", str(i).encode()) for i in range(10)
    ]


async def test_empty_form() -> None:
    assert await collect(body_of(), 1) == []
    assert await collect(body_of(epilogue=b""), None) == []


async def test_preamble_and_epilogue_are_ignored() -> None:
    body = body_of(
        part_bytes("a", b"1"),
        preamble=b"This is the preamble. --not-a-boundary\r\n-- " + BOUNDARY.encode() + b"\r\n",
        epilogue=b"\r\nthis is the epilogue\r\n--" + BOUNDARY.encode() + b"\r\n",
    )
    for size in (1, 7, None):
        parts = await collect(body, size)
        assert [(p.name, d) for p, d, _ in parts] == [("a", b"1")]


async def test_quoted_boundary_and_case_insensitive_content_type() -> None:
    body = body_of(part_bytes("a", b"1"))
    content_type = f'Multipart/Form-Data; charset=utf-8; boundary="{BOUNDARY}"'
    parts = await collect(body, 3, content_type)
    assert [(p.name, d) for p, d, _ in parts] == [("a", b"1")]


# -- filenames -----------------------------------------------------------------------


async def test_filename_star_utf8_is_decoded() -> None:
    name = "Giấy khai sinh.pdf"
    disposition = 'form-data; name="file"; filename="fallback.pdf"; '
    disposition += f"filename*=UTF-8''{quote(name)}"
    parts = await collect(body_of(part_bytes(None, b"%PDF", disposition=disposition)), 7)
    assert parts[0][0].filename == name
    assert parts[0][0].name == "file"


async def test_filename_star_only_and_latin1() -> None:
    disposition = "form-data; name=file; filename*=iso-8859-1'fr'caf%E9.txt"
    parts = await collect(body_of(part_bytes(None, b"", disposition=disposition)))
    assert parts[0][0].filename == "café.txt"


async def test_invalid_filename_star_falls_back_or_fails() -> None:
    bad = "form-data; name=file; filename=\"plain.txt\"; filename*=UTF-8''%FF%FE"
    parts = await collect(body_of(part_bytes(None, b"", disposition=bad)))
    assert parts[0][0].filename == "plain.txt"
    only_bad = "form-data; name=file; filename*=koi8-r''abc"
    with pytest.raises(MultipartError, match=r"filename\* parameter is invalid"):
        await collect(body_of(part_bytes(None, b"", disposition=only_bad)))


async def test_raw_utf8_filename_as_browsers_send_it() -> None:
    parts = await collect(body_of(part_bytes("file", b"x", filename="Giấy khai sinh.pdf")), 1)
    assert parts[0][0].filename == "Giấy khai sinh.pdf"


async def test_empty_filename_is_not_none() -> None:
    # Browsers send filename="" for a file input left empty.
    parts = await collect(body_of(part_bytes("file", b"", filename="")))
    assert parts[0][0].filename == ""


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd",
        "/etc/shadow",
        "..\\..\\windows\\system32\\evil.dll",
        "C:\\Users\\a\\x.pdf",
    ],
)
async def test_path_traversal_filename_is_returned_as_sent(filename: str) -> None:
    """The reader does not sanitise filenames; callers must (documented)."""
    body, content_type = httpx_body(files={"file": (filename, b"data", "text/plain")})
    parts = await collect(body, 7, content_type)
    assert parts[0][0].filename == filename


async def test_quoted_pair_and_semicolon_in_filename() -> None:
    disposition = r'form-data; name="file"; filename="a\"b; c.txt"'
    parts = await collect(body_of(part_bytes(None, b"", disposition=disposition)))
    assert parts[0][0].filename == 'a"b; c.txt'


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "reason"),
    [
        ("application/x-www-form-urlencoded", "request is not multipart/form-data"),
        ("multipart/mixed; boundary=abc", "request is not multipart/form-data"),
        ("", "request is not multipart/form-data"),
        ("multipart/form-data", "multipart boundary is missing"),
        ("multipart/form-data; charset=utf-8", "multipart boundary is missing"),
        ('multipart/form-data; boundary=""', "multipart boundary is missing"),
        ("multipart/form-data; boundary=" + "a" * 71, "multipart boundary is too long"),
        ("multipart/form-data; boundary=bad\x00char", "multipart boundary is invalid"),
        (
            'multipart/form-data; boundary="unterminated',
            "request Content-Type header is malformed",
        ),
    ],
)
async def test_bad_content_type(content_type: str, reason: str) -> None:
    with pytest.raises(MultipartError) as info:
        MultipartReader(Stream(b""), content_type)
    assert info.value.reason == reason
    assert str(info.value) == reason


async def test_seventy_char_boundary_is_accepted() -> None:
    boundary = "b" * 70
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--{boundary}--\r\n'
    )
    parts = await collect(body.encode(), 7, f"multipart/form-data; boundary={boundary}")
    assert [(p.name, d) for p, d, _ in parts] == [("a", b"v")]


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_truncated_body_raises_while_iterating_the_cut_part(
    chunk_size: int | None,
) -> None:
    data = bytes(range(256)) * 1000
    full = body_of(part_bytes("title", b"t"), part_bytes("file", data, filename="f.bin"))
    cut = full[: full.index(data) + len(data) // 2]
    reader = MultipartReader(Stream(cut, chunk_size), CT)
    first = await reader.next_part()
    assert first is not None and await first.read(10) == b"t"
    second = await reader.next_part()
    assert second is not None and second.filename == "f.bin"
    received = 0
    with pytest.raises(MultipartError, match="ended before the closing boundary"):
        async for chunk in second:
            received += len(chunk)
    assert 0 < received <= len(data) // 2
    # The reader stays failed.
    with pytest.raises(MultipartError):
        await reader.next_part()


@pytest.mark.parametrize(
    "cut_after",
    [
        b"Content-Disp",  # inside the headers
        b"\r\n\r\n",  # after the headers of the first part
        b"v\r\n--" + BOUNDARY.encode(),  # after the data, before the closing boundary
        b"v\r\n--" + BOUNDARY.encode() + b"-",  # half of the closing "--"
    ],
)
async def test_truncated_body_variants(cut_after: bytes) -> None:
    full = body_of(part_bytes("a", b"v"))
    cut = full[: full.index(cut_after) + len(cut_after)]
    with pytest.raises(MultipartError) as info:
        await collect(cut, 1)
    assert info.value.reason == "request body ended before the closing boundary"


async def test_missing_closing_boundary_raises() -> None:
    body = part_bytes("a", b"value")  # no closing delimiter at all
    with pytest.raises(MultipartError, match="ended before the closing boundary"):
        await collect(body, 64 * 1024)


@pytest.mark.parametrize("chunk_size", [1, None])
async def test_body_without_boundary(chunk_size: int | None) -> None:
    with pytest.raises(MultipartError) as info:
        await collect(b"just some text, no multipart at all", chunk_size)
    assert info.value.reason == "request body contains no multipart boundary"
    with pytest.raises(MultipartError):
        await collect(b"", chunk_size)


async def test_huge_preamble_is_rejected() -> None:
    with pytest.raises(MultipartError, match="does not start with a multipart boundary"):
        await collect(b"x" * 200_000, 1000)


async def test_wrong_boundary_in_body() -> None:
    body = body_of(part_bytes("a", b"v")).replace(BOUNDARY.encode(), b"other-boundary")
    with pytest.raises(MultipartError, match="contains no multipart boundary"):
        await collect(body, 7)


async def test_malformed_boundary_line() -> None:
    body = f"--{BOUNDARY}XYZ\r\n".encode() + b"rest"
    with pytest.raises(MultipartError) as info:
        await collect(body, 7)
    assert info.value.reason == "multipart body is malformed"


@pytest.mark.parametrize(
    ("disposition", "reason"),
    [
        ("form-data", "part has no field name"),
        ('form-data; filename="x.pdf"', "part has no field name"),
        ('form-data; name=""', "part has no field name"),
        ('attachment; name="a"', "part Content-Disposition is not form-data"),
        (
            'form-data; name="a"; name="b"',
            "part Content-Disposition header is malformed",
        ),
        ('form-data; name="a', "part Content-Disposition header is malformed"),
    ],
)
async def test_bad_content_disposition(disposition: str, reason: str) -> None:
    with pytest.raises(MultipartError) as info:
        await collect(body_of(part_bytes(None, b"v", disposition=disposition)), 7)
    assert info.value.reason == reason


async def test_missing_content_disposition() -> None:
    body = f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\n".encode()
    body += f"v\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(MultipartError) as info:
        await collect(body, 7)
    assert info.value.reason == "part has no Content-Disposition header"


async def test_duplicate_content_disposition() -> None:
    extra = ['Content-Disposition: form-data; name="b"']
    with pytest.raises(MultipartError, match="more than one Content-Disposition"):
        await collect(body_of(part_bytes("a", b"v", extra_headers=extra)))


async def test_too_many_parts() -> None:
    body = body_of(*(part_bytes(f"f{i}", b"x") for i in range(4)))
    assert len(await collect(body, 7, max_parts=4)) == 4
    reader = MultipartReader(Stream(body, 7), CT, max_parts=3)
    for _ in range(3):
        part = await reader.next_part()
        assert part is not None and await part.read(10) == b"x"
    with pytest.raises(MultipartError) as info:
        await reader.next_part()
    assert info.value.reason == "form has too many parts"


@pytest.mark.parametrize("chunk_size", [1, 7, None])
async def test_oversized_headers(chunk_size: int | None) -> None:
    # Many moderate headers adding up, and one huge header.
    many = [f"X-Pad-{i}: {'p' * 200}" for i in range(6)]
    body = body_of(part_bytes("a", b"v", extra_headers=many))
    with pytest.raises(MultipartError) as info:
        await collect(body, chunk_size, max_header_bytes=1000)
    assert info.value.reason == "part headers are too large"
    assert len(await collect(body, chunk_size, max_header_bytes=2000)) == 1
    huge = body_of(part_bytes("a", b"v", filename="x" * 20_000))
    with pytest.raises(MultipartError) as info:
        await collect(huge, chunk_size)
    assert info.value.reason == "part headers are too large"


async def test_too_many_headers() -> None:
    extra = [f"X-H{i}: v" for i in range(40)]
    with pytest.raises(MultipartError, match="too many headers"):
        await collect(body_of(part_bytes("a", b"v", extra_headers=extra)))


async def test_read_limit_overflow_keeps_reader_usable() -> None:
    body = body_of(part_bytes("big", b"x" * 5000), part_bytes("small", b"ok"))
    reader = MultipartReader(Stream(body, 100), CT)
    big = await reader.next_part()
    assert big is not None
    with pytest.raises(MultipartError) as info:
        await big.read(4999)
    assert info.value.reason == "field 'big' is too long"
    small = await reader.next_part()  # skips the rest of "big"
    assert small is not None and await small.text(2) == "ok"
    assert await reader.next_part() is None


async def test_read_exact_limit_is_fine() -> None:
    parts = await collect(body_of(part_bytes("a", b"12345")))
    assert parts[0][1] == b"12345"
    reader = MultipartReader(Stream(body_of(part_bytes("a", b"12345")), 2), CT)
    part = await reader.next_part()
    assert part is not None and await part.read(5) == b"12345"


async def test_text_invalid_utf8() -> None:
    body = body_of(part_bytes("x", b"caf\xe9"), part_bytes("y", "chào".encode()))
    reader = MultipartReader(Stream(body, 3), CT)
    x = await reader.next_part()
    assert x is not None
    with pytest.raises(MultipartError) as info:
        await x.text(100)
    assert info.value.reason == "field 'x' is not valid UTF-8"
    y = await reader.next_part()
    assert y is not None and await y.text(100) == "chào"


async def test_text_limit_counts_bytes() -> None:
    reader = MultipartReader(Stream(body_of(part_bytes("x", "ấấ".encode()))), CT)
    part = await reader.next_part()
    assert part is not None
    with pytest.raises(MultipartError, match="too long"):
        await part.text(5)  # 2 characters, 6 bytes


# -- reader behaviour ----------------------------------------------------------------


async def test_next_part_skips_unread_and_partially_read_parts() -> None:
    body = body_of(
        part_bytes("skip", b"s" * 100_000, filename="s.bin"),
        part_bytes("half", b"h" * 100_000),
        part_bytes("keep", b"k"),
    )
    reader = MultipartReader(Stream(body, 1000), CT)
    assert (await reader.next_part()) is not None  # never read
    half = await reader.next_part()
    assert half is not None
    assert len(await half.__anext__()) > 0
    keep = await reader.next_part()
    assert keep is not None and keep.name == "keep" and await keep.read(1) == b"k"
    assert await reader.next_part() is None
    assert await reader.next_part() is None
    # A finished part yields nothing more.
    assert [c async for c in half] == []


async def test_drain_after_error_consumes_stream() -> None:
    body = body_of(*(part_bytes(f"f{i}", b"x" * 1000) for i in range(10)))
    stream = Stream(body, 100)
    reader = MultipartReader(stream, CT, max_parts=2)
    with pytest.raises(MultipartError):
        while await reader.next_part() is not None:
            pass
    assert not stream.exhausted
    await reader.drain()
    assert stream.exhausted
    with pytest.raises(MultipartError, match="too many parts"):
        await reader.next_part()
    await reader.drain()  # idempotent


async def test_drain_without_error() -> None:
    body = body_of(part_bytes("a", b"x" * 1000), part_bytes("b", b"y"))
    stream = Stream(body, 10)
    reader = MultipartReader(stream, CT)
    part = await reader.next_part()
    assert part is not None
    await reader.drain()
    assert stream.exhausted
    assert await reader.next_part() is None
    with pytest.raises(RuntimeError):
        await part.read(10_000)


async def test_empty_stream_chunks_are_skipped() -> None:
    body = body_of(part_bytes("a", b"value"))
    chunks = [b""] + [bytes([c]) for c in body] + [b"", b""]
    reader = MultipartReader(Stream(chunks), CT)
    part = await reader.next_part()
    assert part is not None
    got = [c async for c in part]
    assert b"".join(got) == b"value" and all(got)
    assert await reader.next_part() is None


async def test_bytearray_chunks_are_accepted() -> None:
    body = body_of(part_bytes("a", b"value"))
    reader = MultipartReader(Stream([bytearray(body[:20]), memoryview(body[20:])]), CT)  # type: ignore[list-item]
    part = await reader.next_part()
    assert part is not None and await part.read(100) == b"value"


async def test_error_is_reported_after_preceding_data() -> None:
    """Data parsed before a malformed spot is delivered before the error."""
    body = part_bytes("a", b"good data") + f"--{BOUNDARY}\r\nBad Header\r\n\r\n".encode()
    reader = MultipartReader(Stream(body), CT)
    part = await reader.next_part()
    assert part is not None
    assert await part.read(100) == b"good data"
    with pytest.raises(MultipartError, match="malformed"):
        await reader.next_part()


# -- memory and chunking ---------------------------------------------------------------


async def test_large_part_streams_with_flat_memory() -> None:
    chunk_size = 64 * 1024
    total = 50 * 1024 * 1024
    block = random.Random(1).randbytes(chunk_size)
    head = f"--{BOUNDARY}\r\n"
    head += 'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
    head += "Content-Type: application/octet-stream\r\n\r\n"

    async def stream() -> AsyncIterator[bytes]:
        yield head.encode()
        for _ in range(total // chunk_size):
            yield block
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    tracemalloc.start()
    try:
        reader = MultipartReader(stream(), CT)
        part = await reader.next_part()
        assert part is not None and part.filename == "big.bin"
        received = 0
        largest = 0
        async for chunk in part:
            received += len(chunk)
            largest = max(largest, len(chunk))
            assert chunk  # never empty
        assert await reader.next_part() is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == total
    assert largest <= chunk_size
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"
