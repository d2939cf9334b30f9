"""Streaming envelope encryption: round trips and every kind of tampering."""

from __future__ import annotations

import os
import uuid

import pytest

from vault.crypto import (
    HEADER_LEN,
    TAG_LEN,
    DecryptionError,
    SegmentDecryptor,
    SegmentEncryptor,
    ciphertext_size,
    new_key,
    segment_span,
    unwrap_key,
    wrap_key,
)

SEG = 1024


def encrypt(data: bytes, key: bytes, doc: uuid.UUID, owner: uuid.UUID, chunk: int = 333) -> bytes:
    enc = SegmentEncryptor(key, doc, owner, SEG)
    out = bytearray()
    for i in range(0, len(data), chunk):
        for piece in enc.feed(data[i : i + chunk]):
            out += piece
    for piece in enc.finish():
        out += piece
    return bytes(out)


def decrypt(
    blob: bytes, key: bytes, doc: uuid.UUID, owner: uuid.UUID, size: int, chunk: int = 500
) -> bytes:
    dec = SegmentDecryptor(key, doc, owner, size, 0, SEG)
    out = bytearray()
    for i in range(0, len(blob), chunk):
        for piece in dec.feed(blob[i : i + chunk]):
            out += piece
    dec.finish()
    return bytes(out)


@pytest.fixture
def ids() -> tuple[bytes, uuid.UUID, uuid.UUID]:
    return new_key(), uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 17])
def test_round_trip(ids, size):
    key, doc, owner = ids
    data = os.urandom(size)
    blob = encrypt(data, key, doc, owner)
    assert len(blob) == ciphertext_size(size, SEG)
    assert decrypt(blob, key, doc, owner, size) == data


def test_ciphertext_hides_plaintext(ids):
    key, doc, owner = ids
    data = b"CONFIDENTIAL-MARKER " * 200
    assert b"CONFIDENTIAL-MARKER" not in encrypt(data, key, doc, owner)


def test_every_flipped_byte_is_detected(ids):
    key, doc, owner = ids
    data = os.urandom(2 * SEG + 5)
    blob = encrypt(data, key, doc, owner)
    for pos in range(0, len(blob), 97):
        bad = bytearray(blob)
        bad[pos] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt(bytes(bad), key, doc, owner, len(data))


def test_swapped_segments_are_detected(ids):
    key, doc, owner = ids
    data = os.urandom(3 * SEG)
    blob = encrypt(data, key, doc, owner)
    stride = SEG + TAG_LEN
    s0 = blob[HEADER_LEN : HEADER_LEN + stride]
    s1 = blob[HEADER_LEN + stride : HEADER_LEN + 2 * stride]
    swapped = blob[:HEADER_LEN] + s1 + s0 + blob[HEADER_LEN + 2 * stride :]
    with pytest.raises(DecryptionError):
        decrypt(swapped, key, doc, owner, len(data))


def test_truncation_at_a_segment_boundary_is_detected(ids):
    key, doc, owner = ids
    data = os.urandom(3 * SEG)
    blob = encrypt(data, key, doc, owner)
    cut = blob[: HEADER_LEN + 2 * (SEG + TAG_LEN)]
    # Claiming the shorter size makes segment 1 the "last": its nonce flag does not match.
    with pytest.raises(DecryptionError):
        decrypt(cut, key, doc, owner, 2 * SEG)
    with pytest.raises(DecryptionError):
        decrypt(cut, key, doc, owner, len(data))


@pytest.mark.parametrize("other", ["document", "owner", "key"])
def test_blob_is_bound_to_document_owner_and_key(ids, other):
    key, doc, owner = ids
    data = os.urandom(SEG + 10)
    blob = encrypt(data, key, doc, owner)
    if other == "document":
        doc = uuid.uuid4()
    elif other == "owner":
        owner = uuid.uuid4()
    else:
        key = new_key()
    with pytest.raises(DecryptionError):
        decrypt(blob, key, doc, owner, len(data))


def test_ranged_decrypt_of_middle_segments(ids):
    key, doc, owner = ids
    data = os.urandom(5 * SEG + 100)
    blob = encrypt(data, key, doc, owner)
    start, end = 2 * SEG - 10, 3 * SEG + 10
    first, last, c0, c1 = segment_span(start, end, len(data), SEG)
    assert (first, last) == (1, 3)
    dec = SegmentDecryptor(key, doc, owner, len(data), first, SEG)
    plain = b"".join(dec.feed(blob[c0:c1]))
    assert plain[start - first * SEG : end - first * SEG] == data[start:end]


def test_wrapped_keys_are_bound_to_their_context():
    kek, key = new_key(), new_key()
    wrapped = wrap_key(kek, key, b"owner:1")
    assert unwrap_key(kek, wrapped, b"owner:1") == key
    with pytest.raises(DecryptionError):
        unwrap_key(kek, wrapped, b"owner:2")
    with pytest.raises(DecryptionError):
        unwrap_key(new_key(), wrapped, b"owner:1")
