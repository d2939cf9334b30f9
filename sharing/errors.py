"""Errors of the sharing package (mapped to problem+json in ``api/errors.py``)."""

from __future__ import annotations


class SharingError(Exception):
    """Base class of every sharing error."""


class ShareNotFound(SharingError):
    """Unknown token or id (or another owner's share): nothing is said about which."""

    def __init__(self) -> None:
        super().__init__("no such share")


class ShareGone(SharingError):
    """The link existed but no longer works: ``reason`` is expired, revoked or used_up."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the share link is {reason.replace('_', ' ')}")
        self.reason = reason


class SharePasswordRequired(SharingError):
    def __init__(self) -> None:
        super().__init__("this share link is protected by a password")


class SharePasswordWrong(SharingError):
    def __init__(self, attempts_left: int) -> None:
        super().__init__("wrong password for this share link")
        self.attempts_left = attempts_left


class ShareLocked(SharingError):
    """Too many wrong passwords: this link (only this one) is locked for a while."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many wrong passwords; this link is locked for a while")
        self.retry_after = retry_after


class ShareGrantInvalid(SharingError):
    """A viewing grant that is unknown, expired, or belongs to another link."""

    def __init__(self) -> None:
        super().__init__("the viewing grant is invalid or expired; open the link again")


class ShareAudienceDenied(SharingError):
    """The link is for officials of one agency, and the caller is not one of them."""

    def __init__(self, agency_code: str) -> None:
        super().__init__(f"this link can only be opened by officials of agency {agency_code}")
        self.agency_code = agency_code


class RequestNotFound(SharingError):
    def __init__(self) -> None:
        super().__init__("no such request")


class RequestClosed(SharingError):
    """The request was already answered, or has expired."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the request is already {status}")
        self.status = status
