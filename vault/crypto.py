"""Envelope encryption: key wrapping and streaming AES-256-GCM segments.

Layout of an encrypted blob::

    header  = b"KHO1" || segment_size (uint32 BE)                     8 bytes
    segment = AES-256-GCM(content_key, nonce_i, plaintext_i, aad)    len(plaintext_i) + 16

Every segment holds ``segment_size`` plaintext bytes except the last, which holds
1..segment_size bytes (0 only for an empty file, which then has one empty segment).

``nonce_i = uint64_be(i) || last_flag (1 byte) || 0x000000``.  Deterministic nonces are
safe because each content key encrypts exactly one document once (a fresh random key per
document; rewriting a document means a new document id and a new key).

``aad = header || document_id (16 bytes) || owner_id (16 bytes)``, so a segment cannot be
moved to another position (index in the nonce), another document or owner (aad), and a
truncated stream is detected (the new last segment lacks the last flag).
"""

from __future__ import annotations

import os
import struct
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"KHO1"
HEADER_LEN = 8
TAG_LEN = 16
KEY_LEN = 32
DEFAULT_SEGMENT_SIZE = 256 * 1024


class DecryptionError(Exception):
    """Authentication of a segment or wrapped key failed."""


def new_key() -> bytes:
    return os.urandom(KEY_LEN)


def wrap_key(kek: bytes, key: bytes, context: bytes) -> bytes:
    """Encrypt ``key`` under ``kek`` with AES-256-GCM; ``context`` is bound as AAD."""
    nonce = os.urandom(12)
    return nonce + AESGCM(kek).encrypt(nonce, key, context)


def unwrap_key(kek: bytes, wrapped: bytes, context: bytes) -> bytes:
    """Inverse of :func:`wrap_key`; raises ``DecryptionError`` on a wrong key or context."""
    if len(wrapped) != 12 + KEY_LEN + TAG_LEN:
        raise DecryptionError("wrapped key has the wrong length")
    try:
        return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], context)
    except InvalidTag:
        raise DecryptionError("wrapped key does not authenticate") from None


def _nonce(index: int, last: bool) -> bytes:
    return struct.pack(">QB3x", index, 1 if last else 0)


def header(segment_size: int) -> bytes:
    return MAGIC + struct.pack(">I", segment_size)


def _aad(head: bytes, document_id: UUID, owner_id: UUID) -> bytes:
    return head + document_id.bytes + owner_id.bytes


def ciphertext_size(plaintext_size: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    segments = max(1, -(-plaintext_size // segment_size))
    return HEADER_LEN + plaintext_size + segments * TAG_LEN


class SegmentEncryptor:
    """Turns a plaintext stream into the blob layout above, holding one segment at most."""

    def __init__(
        self,
        key: bytes,
        document_id: UUID,
        owner_id: UUID,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> None:
        self._aes = AESGCM(key)
        self._head = header(segment_size)
        self._aad = _aad(self._head, document_id, owner_id)
        self._size = segment_size
        self._index = 0
        self._pending = bytearray()
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Yield the encrypted output that ``data`` completes (never the last segment)."""
        if not self._started:
            self._started = True
            yield self._head
        self._pending += data
        # Note: keep at least one byte back so the final segment is known to be last
        # only when the stream ends; a full segment is emitted once more data follows.
        while len(self._pending) > self._size:
            chunk = bytes(self._pending[: self._size])
            del self._pending[: self._size]
            yield self._aes.encrypt(_nonce(self._index, False), chunk, self._aad)
            self._index += 1

    def finish(self) -> Iterator[bytes]:
        if not self._started:
            self._started = True
            yield self._head
        yield self._aes.encrypt(_nonce(self._index, True), bytes(self._pending), self._aad)
        self._pending.clear()


async def encrypt_stream(
    chunks: AsyncIterable[bytes],
    key: bytes,
    document_id: UUID,
    owner_id: UUID,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
) -> AsyncIterator[bytes]:
    enc = SegmentEncryptor(key, document_id, owner_id, segment_size)
    async for chunk in chunks:
        for out in enc.feed(chunk):
            yield out
    for out in enc.finish():
        yield out


class SegmentDecryptor:
    """Decrypts a blob (or a run of whole segments of it) in the layout above."""

    def __init__(
        self,
        key: bytes,
        document_id: UUID,
        owner_id: UUID,
        plaintext_size: int,
        first_segment: int = 0,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> None:
        self._aes = AESGCM(key)
        self._head = header(segment_size)
        self._aad = _aad(self._head, document_id, owner_id)
        self._size = segment_size
        self._index = first_segment
        self._last_index = max(0, -(-plaintext_size // segment_size) - 1)
        self._plaintext_size = plaintext_size
        self._buf = bytearray()
        self._need_header = first_segment == 0

    def _expected_len(self, index: int) -> int:
        if index < self._last_index:
            return self._size + TAG_LEN
        return self._plaintext_size - self._last_index * self._size + TAG_LEN

    def _open(self, index: int, data: bytes) -> bytes:
        try:
            return self._aes.decrypt(_nonce(index, index == self._last_index), data, self._aad)
        except InvalidTag:
            raise DecryptionError(f"segment {index} does not authenticate") from None

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buf += data
        if self._need_header:
            if len(self._buf) < HEADER_LEN:
                return
            if bytes(self._buf[:HEADER_LEN]) != self._head:
                raise DecryptionError("blob header is not a Kho segment header")
            del self._buf[:HEADER_LEN]
            self._need_header = False
        while self._index <= self._last_index:
            need = self._expected_len(self._index)
            if len(self._buf) < need:
                return
            segment = bytes(self._buf[:need])
            del self._buf[:need]
            yield self._open(self._index, segment)
            self._index += 1
        if self._buf:
            raise DecryptionError("blob is longer than its recorded size")

    def finish(self) -> None:
        """Raise unless every expected segment arrived (truncation is tampering too)."""
        if self._need_header or self._index <= self._last_index or self._buf:
            raise DecryptionError("blob is truncated")


def segment_span(
    start: int, end: int, plaintext_size: int, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> tuple[int, int, int, int]:
    """For the plaintext range ``[start, end)`` return
    ``(first_segment, last_segment, cipher_start, cipher_end)`` of the segments covering it."""
    last_possible = max(0, -(-plaintext_size // segment_size) - 1)
    first = start // segment_size
    last = min(max(end - 1, start) // segment_size, last_possible)
    stride = segment_size + TAG_LEN
    # Note: reads from segment 0 include the header, which the decryptor checks.
    cipher_start = 0 if first == 0 else HEADER_LEN + first * stride
    if last == last_possible:
        cipher_end = ciphertext_size(plaintext_size, segment_size)
    else:
        cipher_end = HEADER_LEN + (last + 1) * stride
    return first, last, cipher_start, cipher_end
