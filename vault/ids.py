"""UUIDv7 ids: time-ordered, so primary keys and cursors sort by creation."""

from __future__ import annotations

from uuid import UUID

import uuid_utils


def uuid7() -> UUID:
    return UUID(bytes=uuid_utils.uuid7().bytes)
