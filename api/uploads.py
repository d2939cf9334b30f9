"""Streaming multipart uploads: fields into memory (small), the file straight to the vault."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

from litestar import Request

from api.multipart import MultipartReader, Part
from vault.documents import StagedContent
from vault.errors import EmptyFile, FileTooLarge, InvalidInput, UnsupportedMediaType
from vault.sniff import PDF, ContentInspector

MAX_FIELD_BYTES = 16 * 1024

Stager = Callable[[AsyncIterable[bytes], str | None, dict[str, str]], Awaitable[StagedContent]]


class UploadForm:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.staged: StagedContent | None = None


async def _field_text(part: Part) -> str:
    raw = await part.read(MAX_FIELD_BYTES)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(part.name, "must be UTF-8 text") from None


async def receive_upload(
    request: Request[Any, Any, Any],
    *,
    fields: frozenset[str],
    stage: Stager,
    discard: Callable[[StagedContent], Awaitable[None]],
) -> UploadForm:
    """Read a multipart form whose one ``file`` part streams into ``stage``.

    Text fields named in ``fields`` are kept (each at most 16 KiB); any other field is
    an error.  If anything fails after the file was staged, the staged blob is
    discarded before the error propagates, so a failed request leaves nothing.
    """
    form = UploadForm()
    reader = MultipartReader(request.stream(), request.headers.get("content-type", ""))
    try:
        while (part := await reader.next_part()) is not None:
            if part.name == "file":
                if form.staged is not None:
                    raise InvalidInput("file", "send exactly one file per request")
                if part.filename is None:
                    raise InvalidInput("file", "must be a file part (with a filename)")
                form.staged = await stage(part, part.filename, dict(form.fields))
            elif part.name in fields:
                if part.name in form.fields:
                    raise InvalidInput(part.name, "was sent more than once")
                form.fields[part.name] = await _field_text(part)
            else:
                raise InvalidInput(part.name[:64], "is not a field of this form")
        if form.staged is None:
            raise InvalidInput("file", "is required")
    except BaseException:
        if form.staged is not None:
            await discard(form.staged)
        raise
    return form


async def read_pdf(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """Read a file part that must be a PDF into memory, at most ``limit`` bytes.

    Raises ``FileTooLarge``, ``EmptyFile``, ``UnsupportedMediaType`` (judged by the
    bytes) or ``UnreadableDocument``, as a stored upload would.
    """
    inspector = ContentInspector()
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(limit)
        inspector.feed(chunk)
        parts.append(chunk)
    if size == 0:
        raise EmptyFile()
    if inspector.finish() != PDF:
        raise UnsupportedMediaType(inspector.content_type)
    return b"".join(parts)


async def single_chunk(data: bytes) -> AsyncIterator[bytes]:
    """``data`` as a one-chunk stream, for content made in memory (sealed PDFs)."""
    yield data


def bool_field(fields: dict[str, str], name: str) -> bool:
    """A form flag: true/1/yes or false/0/no/absent; anything else is ``InvalidInput``."""
    value = fields.get(name, "false").strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    raise InvalidInput(name, "must be true or false")
