"""Streaming ``multipart/form-data`` reader.

Litestar's built-in form parsing buffers the whole request body in memory.
Kho accepts uploads of hundreds of megabytes, so request bodies are parsed
incrementally with python-multipart's push parser and every part body is
handed to the caller chunk by chunk, as it arrives from the network.

Usage::

    reader = MultipartReader(request.stream(), request.headers["content-type"])
    try:
        while (part := await reader.next_part()) is not None:
            if part.filename is None:
                value = await part.text(limit=1024)
            else:
                async for chunk in part:
                    ...  # hash / encrypt / store
    except MultipartError as exc:
        await reader.drain()
        ...  # 400 with exc.reason

Design notes:

* The module is framework-agnostic: it takes any async iterator of ``bytes``.
* Memory use is bounded by the chunk currently being parsed plus small parser
  state (part headers are capped by ``max_header_bytes``).  Part data is never
  accumulated; :meth:`Part.read` is the only method that buffers, and it is
  capped by its ``limit`` argument.
* Chunks yielded by a part are the slices python-multipart reports, passed
  through without coalescing, so a yielded chunk is never larger than the
  incoming chunk it came from, and never empty.
* ``Part.filename`` is returned exactly as the client sent it (after
  RFC 5987 decoding of ``filename*``).  It may contain path separators,
  ``..`` segments, control characters or be the empty string (browsers send
  ``filename=""`` for an empty file input).  Sanitising it is the caller's job.
* A reader is not safe for concurrent use by several tasks.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

__all__ = ["MultipartError", "MultipartReader", "Part"]

#: RFC 2046 section 5.1.1: boundaries are 1 to 70 characters from ``bchars``.
_MAX_BOUNDARY_LENGTH: Final = 70
_BOUNDARY_RE: Final = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
#: Preamble bytes tolerated before the first boundary.  Real clients send none.
_MAX_PREAMBLE: Final = 64 * 1024
#: Headers per part accepted by the underlying parser.  Browsers send two.
_MAX_HEADER_COUNT: Final = 16

# ``; key=value`` or ``; key="quoted \" value"`` (value possibly empty).
_PARAM_RE: Final = re.compile(
    r'[ \t]*;[ \t]*([^\s;="]+)[ \t]*=[ \t]*'
    r'(?:"((?:[^"\\]|\\.)*)"|([^;"]*?))[ \t]*(?=;|$)',
    re.DOTALL,
)
_TRAILING_RE: Final = re.compile(r"[ \t;]*")
_QUOTED_PAIR_RE: Final = re.compile(r"\\([\\\"])")
# RFC 5987 ext-value: charset'language'pct-encoded-value
_EXT_VALUE_RE: Final = re.compile(r"([!#$%&+\-^_`{}~0-9A-Za-z]+)'[^']*'(.*)", re.DOTALL)
_EXT_CHARSETS: Final = {"utf-8": "utf-8", "iso-8859-1": "latin-1"}

# Sentinels in the event queue.  Data events are plain ``bytes`` and a new part
# is announced by its :class:`Part` object.
_PART_END: Final = object()
_END: Final = object()


class MultipartError(Exception):
    """The request body is not acceptable ``multipart/form-data``.

    ``reason`` is a short English sentence that is safe to show to clients.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Part:
    """One part of a ``multipart/form-data`` body.

    Iterate over it (``async for chunk in part``) to receive the body as it
    arrives, or use :meth:`read` / :meth:`text` for small fields.  The body can
    be consumed only once; iteration resumes where a previous one stopped.
    """

    __slots__ = ("_done", "_reader", "content_type", "filename", "name")

    def __init__(
        self,
        reader: MultipartReader,
        name: str,
        filename: str | None,
        content_type: str | None,
    ) -> None:
        self._reader = reader
        self._done = False
        self.name = name
        self.filename = filename
        self.content_type = content_type

    def __repr__(self) -> str:
        return (
            f"Part(name={self.name!r}, filename={self.filename!r}, "
            f"content_type={self.content_type!r})"
        )

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        reader = self._reader
        events = reader._events
        while not events:
            await reader._feed()
        event = events.popleft()
        if event.__class__ is bytes:
            return event
        # The parser guarantees that a part's data is followed by its end.
        assert event is _PART_END, event
        self._done = True
        raise StopAsyncIteration

    async def read(self, limit: int) -> bytes:
        """Return the rest of the body; MultipartError past ``limit`` bytes.

        On overflow the part is left partially consumed;
        :meth:`MultipartReader.next_part` skips the remainder.
        """
        chunks: list[bytes] = []
        size = 0
        async for chunk in self:
            size += len(chunk)
            if size > limit:
                raise MultipartError(f"field {self.name!r} is too long")
            chunks.append(chunk)
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    async def text(self, limit: int) -> str:
        """:meth:`read` decoded as strict UTF-8."""
        data = await self.read(limit)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise MultipartError(f"field {self.name!r} is not valid UTF-8") from None


class MultipartReader:
    """Pull-style reader over a streamed ``multipart/form-data`` body."""

    def __init__(
        self,
        stream: AsyncIterator[bytes],
        content_type: str,
        *,
        max_parts: int = 32,
        max_header_bytes: int = 8192,
    ) -> None:
        boundary = _boundary_from_content_type(content_type)
        self._stream = stream
        self._max_parts = max_parts
        self._max_header_bytes = max_header_bytes
        self._events: deque[object] = deque()
        self._error: MultipartError | None = None
        self._eof = False  # the stream is exhausted
        self._complete = False  # the closing boundary was parsed
        self._finished = False  # next_part() returned None
        self._drained = False
        self._current: Part | None = None
        # Preamble handling: python-multipart rejects anything but CR/LF before
        # the first boundary, so scan for it ourselves.  The body is treated as
        # if it started with CRLF so one search covers both positions.
        self._delimiter = b"\r\n--" + boundary
        self._in_preamble = True
        self._preamble_tail = b"\r\n"
        self._preamble_size = 0
        # Per-part header state.
        self._part_count = 0
        self._header_bytes = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []

        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_header_begin": self._on_header_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_end": self._on_end,
        }
        self._parser = MultipartParser(
            boundary,
            callbacks,
            max_header_count=_MAX_HEADER_COUNT,
            max_header_size=max_header_bytes,
        )

    async def next_part(self) -> Part | None:
        """Return the next part, or None after the closing boundary.

        Any unread body of the previous part is read and discarded first.
        """
        if self._error is not None:
            raise self._error
        if self._finished or self._drained:
            return None
        current = self._current
        if current is not None and not current._done:
            async for _ in current:
                pass
        events = self._events
        while not events:
            await self._feed()
        event = events.popleft()
        if event is _END:
            self._finished = True
            return None
        assert isinstance(event, Part), event
        self._current = event
        return event

    async def drain(self) -> None:
        """Read and discard the rest of the stream without parsing it.

        Use it after an error so the client is not left blocked mid-upload.
        Afterwards :meth:`next_part` returns None (or re-raises the earlier
        MultipartError).  It does not bound how much is read: limiting the
        request body size is the server's job.
        """
        self._drained = True
        self._events.clear()
        if self._eof:
            return
        self._eof = True
        stream = self._stream
        while True:
            try:
                await stream.__anext__()
            except StopAsyncIteration:
                return

    # -- feeding -----------------------------------------------------------

    def _fail(self, reason: str) -> MultipartError:
        error = MultipartError(reason)
        self._error = error
        return error

    async def _feed(self) -> None:
        """Read one chunk from the stream and parse it into events."""
        if self._error is not None:
            raise self._error
        if self._drained:
            raise RuntimeError("the multipart reader was drained")
        if self._complete:  # pragma: no cover - callers stop at _END
            raise RuntimeError("the multipart body is already complete")
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            self._eof = True
            if self._in_preamble:
                raise self._fail("request body contains no multipart boundary") from None
            raise self._fail("request body ended before the closing boundary") from None
        if not chunk:
            return
        if chunk.__class__ is not bytes:
            chunk = bytes(chunk)
        if self._in_preamble:
            found = self._scan_preamble(chunk)
            if found is None:
                return
            chunk = found
        try:
            self._parser.write(chunk)
        except MultipartError as exc:
            self._error = exc
        except FormParserError as exc:
            message = str(exc)
            if "header size" in message:
                self._fail("part headers are too large")
            elif "header count" in message:
                self._fail("part has too many headers")
            else:
                self._fail("multipart body is malformed")
        # Events parsed before an error are delivered first; the error is
        # raised by the _feed() call that would need more data.
        if self._error is not None and not self._events:
            raise self._error

    def _scan_preamble(self, chunk: bytes) -> bytes | None:
        """Skip the preamble; return the data from the first boundary on."""
        delimiter = self._delimiter
        if self._preamble_size == 0 and chunk.startswith(delimiter[2:]):
            self._in_preamble = False
            return chunk
        buf = self._preamble_tail + chunk
        index = buf.find(delimiter)
        if index >= 0:
            self._in_preamble = False
            self._preamble_tail = b""
            return buf[index + 2 :]
        self._preamble_size += len(chunk)
        if self._preamble_size > _MAX_PREAMBLE:
            raise self._fail("request body does not start with a multipart boundary")
        self._preamble_tail = buf[-(len(delimiter) - 1) :]
        return None

    # -- parser callbacks ----------------------------------------------------
    # Raising MultipartError here aborts parser.write(); _feed() records it.

    def _on_part_begin(self) -> None:
        self._part_count += 1
        if self._part_count > self._max_parts:
            raise MultipartError("form has too many parts")
        self._header_bytes = 0
        self._headers = []

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if start == 0 and end == len(data):
            self._events.append(data)
        else:
            self._events.append(data[start:end])

    def _on_part_end(self) -> None:
        self._events.append(_PART_END)

    def _on_end(self) -> None:
        self._complete = True
        self._events.append(_END)

    def _on_header_begin(self) -> None:
        self._header_name.clear()
        self._header_value.clear()

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self._max_header_bytes:
            raise MultipartError("part headers are too large")

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers.append((bytes(self._header_name), bytes(self._header_value)))

    def _on_headers_finished(self) -> None:
        disposition: str | None = None
        content_type: str | None = None
        for raw_name, raw_value in self._headers:
            header = raw_name.decode("latin-1").lower()
            if header == "content-disposition":
                if disposition is not None:
                    raise MultipartError("part has more than one Content-Disposition header")
                disposition = _decode_header_value(raw_value)
            elif header == "content-type":
                if content_type is not None:
                    raise MultipartError("part has more than one Content-Type header")
                content_type = _decode_header_value(raw_value)
        self._headers = []
        if disposition is None:
            raise MultipartError("part has no Content-Disposition header")
        name, filename = _parse_content_disposition(disposition)
        self._events.append(Part(self, name, filename, content_type or None))


# -- header parsing -------------------------------------------------------------


def _decode_header_value(raw: bytes) -> str:
    # Browsers send non-ASCII filenames as raw UTF-8; fall back to latin-1 so
    # any byte sequence maps to some string.
    try:
        return raw.decode("utf-8").strip(" \t")
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip(" \t")


def _parse_header(value: str) -> tuple[str, dict[str, str]] | None:
    """Split ``type; k=v; k2="v2"`` into the lowercased type and parameters.

    Returns None if the value is malformed or repeats a parameter.
    """
    semicolon = value.find(";")
    if semicolon < 0:
        return value.strip(" \t").lower(), {}
    main = value[:semicolon].strip(" \t").lower()
    params: dict[str, str] = {}
    pos = semicolon
    length = len(value)
    while pos < length:
        match = _PARAM_RE.match(value, pos)
        if match is None:
            # Tolerate stray/trailing semicolons and whitespace only.
            if _TRAILING_RE.fullmatch(value, pos) is not None:
                break
            return None
        key = match.group(1).lower()
        quoted = match.group(2)
        if quoted is not None:
            param = _QUOTED_PAIR_RE.sub(r"\1", quoted) if "\\" in quoted else quoted
        else:
            param = match.group(3)
        if key in params:
            return None
        params[key] = param
        pos = match.end()
    return main, params


def _boundary_from_content_type(content_type: str) -> bytes:
    parsed = _parse_header(content_type)
    if parsed is None:
        raise MultipartError("request Content-Type header is malformed")
    media_type, params = parsed
    if media_type != "multipart/form-data":
        raise MultipartError("request is not multipart/form-data")
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartError("multipart boundary is missing")
    if len(boundary) > _MAX_BOUNDARY_LENGTH:
        raise MultipartError("multipart boundary is too long")
    if _BOUNDARY_RE.fullmatch(boundary) is None:
        raise MultipartError("multipart boundary is invalid")
    return boundary.encode("ascii")


def _decode_ext_value(value: str) -> str | None:
    """Decode an RFC 5987 ``charset'lang'%XX`` value; None if invalid."""
    match = _EXT_VALUE_RE.fullmatch(value)
    if match is None:
        return None
    codec = _EXT_CHARSETS.get(match.group(1).lower())
    if codec is None:
        return None
    try:
        return unquote_to_bytes(match.group(2)).decode(codec)
    except UnicodeDecodeError:
        return None


def _parse_content_disposition(value: str) -> tuple[str, str | None]:
    parsed = _parse_header(value)
    if parsed is None:
        raise MultipartError("part Content-Disposition header is malformed")
    disposition_type, params = parsed
    if disposition_type != "form-data":
        raise MultipartError("part Content-Disposition is not form-data")
    # RFC 7578 forbids the extended ``*`` forms, but some clients send them;
    # as in RFC 6266 the extended form wins when it can be decoded.
    values: dict[str, str | None] = {}
    for key in ("name", "filename"):
        plain = params.get(key)
        extended = params.get(key + "*")
        if extended is not None:
            decoded = _decode_ext_value(extended)
            if decoded is not None:
                plain = decoded
            elif plain is None:
                raise MultipartError(f"part {key}* parameter is invalid")
        values[key] = plain
    name = values["name"]
    if not name:
        raise MultipartError("part has no field name")
    return name, values["filename"]
