"""Typed settings, read once from ``KHO_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

PREFIX = "KHO_"


class SettingsError(Exception):
    pass


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every knob of a Kho process.  Environment variable = ``KHO_`` + upper-case name."""

    data_dir: Path = Path("kho-data")
    database_url: str | None = None  # default: sqlite+aiosqlite:///<data_dir>/kho.db
    blob_url: str | None = None  # default: file://<data_dir>/blobs ; or s3://bucket?endpoint=…
    s3_access_key: str | None = None  # for an s3:// blob URL (kept out of the URL)
    s3_secret_key: str | None = None
    master_key: str | None = None  # base64 or id:base64,… (current first); default: key file
    base_url: str = "http://127.0.0.1:8000"
    # the CSRF cookie's signing secret; every process behind one address needs the same
    # one (default: a random one per process, fine for one process)
    csrf_secret: str | None = None
    # the citizen's session cookie is Secure (default: yes when KHO_BASE_URL is https;
    # set false only for local http)
    cookie_secure: bool | None = None
    max_upload_bytes: int = 50 * 1024 * 1024
    quota_bytes: int = 1024 * 1024 * 1024
    token_ttl_seconds: int = 3600
    agency_token_ttl_seconds: int = 900
    gc_grace_seconds: int = 3600
    sqlite_synchronous: str = "FULL"
    revocation_policy: str = "hard-fail"  # or soft-fail: missing revocation data is indeterminate
    verify_workers: int = 0  # sandboxed PDF analysis processes (0: one per CPU)
    public_verify_per_minute: int = 30  # POST /api/v1/verify per client
    # share links: unknown tokens a client may try (per minute, and in one burst)
    share_misses_per_minute: int = 60
    share_miss_burst: int = 1000
    # citizens' web sign-in: failed attempts a client may make (per minute, in one burst),
    # across accounts; each account is also throttled on its own (vault.accounts)
    sign_in_failures_per_minute: int = 10
    sign_in_failure_burst: int = 20
    log_level: str = "info"
    log_json: bool = False
    access_log: bool = False
    migrate_on_start: bool | None = None  # default: yes for SQLite, no otherwise
    tsa_url: str | None = None  # RFC 3161 TSA over HTTP; default: the demo TSA, in process
    tsa_timeout_seconds: float = 5.0
    csc_url: str | None = None  # remote CSC v2 provider (before /csc/v2); default: embedded
    csc_token_url: str | None = None  # its OAuth2 token endpoint (client credentials)
    csc_client_id: str | None = None
    csc_client_secret: str | None = None
    # agency codes (comma-separated) whose client-credentials tokens may call this Kho's
    # /csc/v2 for any citizen, naming them by userID = personal ID (e.g. another Kho)
    csc_relying_parties: str | None = None
    pkcs11_module: str | None = None  # PKCS#11 library; set: PKI and seal keys in the token
    pkcs11_token: str | None = None  # token label
    pkcs11_pin: str | None = None  # user PIN
    # Notifications (sharing.notify): the outbox worker and its channels.
    worker_in_process: bool = True  # drain the outbox in the web process; or run `kho worker`
    worker_poll_seconds: float = 2.0  # idle wait between outbox passes
    notify_max_attempts: int = 8  # per delivery, then given up (kept for operators)
    notify_retry_base_seconds: float = 10.0  # backoff base: base * 2^(attempt-1), max 1 h
    notify_retention_days: float = 30.0  # processed events and sent deliveries, then purged
    smtp_url: str | None = (
        None  # smtp://host:port[?starttls=1] or smtps://user:pass@host; unset: no email
    )
    smtp_from: str = "Kho <no-reply@kho.invalid>"
    sms_backend: str = "log"  # the SMS gateway; "log" writes messages to the log
    webhook_timeout_seconds: float = 5.0  # per agency webhook POST
    # security: webhooks only to public addresses unless true (tests, closed networks)
    webhook_allow_private: bool = False

    def __post_init__(self) -> None:
        if self.csc_url and not (self.csc_client_id and self.csc_client_secret):
            raise ValueError("KHO_CSC_URL needs KHO_CSC_CLIENT_ID and KHO_CSC_CLIENT_SECRET")
        if self.pkcs11_module and not (self.pkcs11_token and self.pkcs11_pin):
            raise ValueError("KHO_PKCS11_MODULE needs KHO_PKCS11_TOKEN and KHO_PKCS11_PIN")
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            raise ValueError("KHO_SMTP_URL must start with smtp:// or smtps://")
        if self.sms_backend != "log":
            raise ValueError("KHO_SMS_BACKEND must be log (the only gateway so far)")
        if self.worker_poll_seconds <= 0 or self.notify_retry_base_seconds <= 0:
            raise ValueError(
                "KHO_WORKER_POLL_SECONDS and KHO_NOTIFY_RETRY_BASE_SECONDS must be > 0"
            )
        if self.notify_max_attempts < 1 or self.webhook_timeout_seconds <= 0:
            raise ValueError(
                "KHO_NOTIFY_MAX_ATTEMPTS must be >= 1, KHO_WEBHOOK_TIMEOUT_SECONDS > 0"
            )

    def __repr__(self) -> str:  # security: the master key and DB password stay out of logs
        fields = msgspec.structs.asdict(self)
        fields["master_key"] = "***" if self.master_key else None
        fields["s3_secret_key"] = "***" if self.s3_secret_key else None
        fields["csc_client_secret"] = "***" if self.csc_client_secret else None
        fields["pkcs11_pin"] = "***" if self.pkcs11_pin else None
        if self.database_url and "@" in self.database_url:
            fields["database_url"] = "***"
        if self.smtp_url and "@" in self.smtp_url:
            fields["smtp_url"] = "***"
        if self.blob_url and "secret_key" in self.blob_url:
            fields["blob_url"] = "***"
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + ")"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir.resolve()}/kho.db"

    @property
    def blobs_url(self) -> str:
        return self.blob_url or f"file://{(self.data_dir / 'blobs').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def should_migrate_on_start(self) -> bool:
        return self.is_sqlite if self.migrate_on_start is None else self.migrate_on_start

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / "master.key"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``KHO_*`` variables; unknown ones or bad values fail naming the variable."""
        env = os.environ if environ is None else environ
        raw: dict[str, str] = {}
        known = set(cls.__struct_fields__)
        for key, value in env.items():
            if not key.startswith(PREFIX) or key in _NOT_SETTINGS:
                continue
            name = key[len(PREFIX) :].lower()
            if name not in known:
                raise SettingsError(f"{key} is not a Kho setting (known: {_known_vars()})")
            raw[name] = value
        try:
            return msgspec.convert(raw, cls, strict=False, dec_hook=_dec_hook)
        except msgspec.ValidationError as exc:
            if "$." not in str(exc):
                raise SettingsError(str(exc)) from None
            field = str(exc).rsplit("$.", 1)[-1].rstrip("`").split("`")[0]
            raise SettingsError(f"{PREFIX}{field.upper()}: {exc}") from None


def _dec_hook(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError


# Variables with the prefix that belong to tooling, not to the service.
_NOT_SETTINGS = frozenset({"KHO_TEST_DATABASE_URL", "KHO_TEST_PG"})


def _known_vars() -> str:
    return ", ".join(PREFIX + f.upper() for f in Settings.__struct_fields__)
