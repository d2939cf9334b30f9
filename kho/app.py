"""The composition root: builds every concrete backend and service, once."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlparse

import anyio.to_thread
import structlog
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

import api
import web
from api.auth import provide_principal
from api.ratelimit import RateLimiter
from api.shares import ShareViewing
from kho import migrate
from kho.settings import Settings
from sharing.access import AccessLog
from sharing.filings import FilingService
from sharing.notify import (
    Channel,
    Dispatcher,
    InAppChannel,
    LogSmsGateway,
    NotificationService,
    NotifySettings,
    SmsChannel,
    SmtpEmailChannel,
    WebhookChannel,
    forget_owner,
)
from sharing.procedures import ProcedureCatalogue
from sharing.requests import RequestService
from sharing.shares import ShareService
from signing import CA_NAMES, PkiSettings, RevocationInfoUnavailable, SigningService
from signing.citizen import CitizenSignatures, owner_for_personal_id
from signing.csc import (
    CscCaller,
    CscEndpoints,
    CscService,
    CscSettings,
    SoftwareDigestKeyStore,
)
from signing.csc.remote import ClientCredentials, RemoteProvider
from signing.csc.store import DatabaseCredentialStore
from signing.http import HttpLoop
from signing.keys.pkcs11 import Pkcs11KeyStore
from signing.receipts import SERVICE_CODE, SERVICE_NAME, DepositReceipts
from signing.revocation import HttpCrlFetcher, OutsideTrust, RevocationGatherer
from signing.tsa import HttpTimeStamper
from vault import AccountService, Database, LocalKeyRing, VaultLimits, VaultService
from vault.blobs.api import BlobStore
from vault.errors import AuthenticationFailed
from vault.keys import KeyRing
from verification import (
    InMemoryOcspSource,
    InMemoryRevocationSource,
    SandboxPool,
    SandboxSettings,
    Verifier,
    VerifierSettings,
)
from verification.documents import StoredDocuments
from verification.errors import VerificationUnavailable
from verification.operators import OperatorTokens
from verification.registry_db import DatabaseRegistrySource, RegistryService
from verification.report_pdf import SealedReports


def build_blob_store(settings: Settings) -> BlobStore:
    url = settings.blobs_url
    if url.startswith("file://"):
        from vault.blobs.files import FileBlobStore

        return FileBlobStore(Path(urlparse(url).path))
    if url.startswith("s3://"):
        from vault.blobs.s3 import S3BlobStore

        return S3BlobStore.from_url(
            url, access_key=settings.s3_access_key, secret_key=settings.s3_secret_key
        )
    raise ValueError("KHO_BLOB_URL must start with file:// or s3://")


def build_keyring(settings: Settings) -> LocalKeyRing:
    if settings.master_key:
        return LocalKeyRing.from_env_value(settings.master_key)
    return LocalKeyRing.open_or_create_file(settings.master_key_file)


def limits_from(settings: Settings) -> VaultLimits:
    return VaultLimits(
        max_upload_bytes=settings.max_upload_bytes,
        quota_bytes=settings.quota_bytes,
        token_ttl_seconds=settings.token_ttl_seconds,
        agency_token_ttl_seconds=settings.agency_token_ttl_seconds,
    )


def build_dispatcher(settings: Settings, database: Database, keyring: KeyRing) -> Dispatcher:
    """The outbox drain with every configured channel (email only with KHO_SMTP_URL)."""
    timeout = settings.webhook_timeout_seconds
    channels: list[Channel] = [
        InAppChannel(database),
        SmsChannel(LogSmsGateway()),
        WebhookChannel(
            database, keyring, timeout=timeout, allow_private=settings.webhook_allow_private
        ),
    ]
    if settings.smtp_url:
        channels.append(SmtpEmailChannel(settings.smtp_url, settings.smtp_from, timeout=timeout))
    return Dispatcher(
        database,
        {c.name: c for c in channels},
        NotifySettings(
            poll_seconds=settings.worker_poll_seconds,
            max_attempts=settings.notify_max_attempts,
            retry_base_seconds=settings.notify_retry_base_seconds,
            send_timeout_seconds=timeout,
            retention_days=settings.notify_retention_days,
        ),
    )


class ServiceSeal:
    """Kho's own service seal (the deposit receipts' credential) as the verification
    report's ``ReportSeal``."""

    def __init__(self, signing: SigningService) -> None:
        self._signing = signing

    async def seal(self, pdf: bytes) -> bytes:
        return await self._signing.seal_for_agency(
            pdf,
            agency_code=SERVICE_CODE,
            agency_name=SERVICE_NAME,
            reason="Báo cáo xác minh giấy tờ / Document verification report",
        )


class Services:
    """Every long-lived object of one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.database = Database(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous)
        self.blobs = build_blob_store(settings)
        self.keyring: KeyRing = build_keyring(settings)
        limits = limits_from(settings)
        self.accounts = AccountService(self.database, self.keyring, limits)
        self.vault = VaultService(
            self.database, self.blobs, self.keyring, limits, on_owner_deleted=[forget_owner]
        )
        pki_dir = settings.data_dir / "pki"
        self.signing_http = HttpLoop()
        keys: SoftwareDigestKeyStore | Pkcs11KeyStore = (
            Pkcs11KeyStore(
                settings.pkcs11_module, settings.pkcs11_token or "", settings.pkcs11_pin or ""
            )
            if settings.pkcs11_module
            else SoftwareDigestKeyStore(pki_dir / "keys", self.keyring)
        )
        self.registry_source = DatabaseRegistrySource(self.database)
        self.revocation_fetcher = HttpCrlFetcher(
            self.signing_http, timeout_seconds=settings.tsa_timeout_seconds
        )
        self.signing = SigningService(
            pki_dir,
            self.keyring,
            PkiSettings(base_url=settings.base_url),
            key_store=keys,
            revocation=RevocationGatherer(
                RegistryOutsideTrust(self.registry_source), self.revocation_fetcher
            ),
            timestamper=(
                HttpTimeStamper(
                    settings.tsa_url,
                    self.signing_http,
                    timeout_seconds=settings.tsa_timeout_seconds,
                )
                if settings.tsa_url
                else None
            ),
        )
        self.csc = CscService(
            DatabaseCredentialStore(self.database), keys, self.keyring, CscSettings()
        )
        self.csc_endpoints = CscEndpoints(self.csc)
        self.citizen_signatures = CitizenSignatures(
            self.database,
            self.vault,
            self.keyring,
            lambda: self.signing.pki,
            self.csc,
            self.csc_endpoints,
            self.signing.citizen_signing,
            base_url=settings.base_url,
            remote=(
                RemoteProvider(
                    self.signing_http,
                    settings.csc_url,
                    ClientCredentials(
                        self.signing_http,
                        settings.csc_token_url or f"{settings.csc_url.rstrip('/')}/oauth2/token",
                        settings.csc_client_id or "",
                        settings.csc_client_secret or "",
                    ),
                )
                if settings.csc_url
                else None
            ),
        )
        self.receipts = DepositReceipts(self.signing)
        self.registry = RegistryService(self.database)
        self.sealed_reports = SealedReports(ServiceSeal(self.signing), self.registry_source)
        self.operator_tokens = OperatorTokens(self.database)
        self._verifier: Verifier | None = None
        self._stored: StoredDocuments | None = None
        self._verifier_lock = asyncio.Lock()
        self.public_verify_limit = RateLimiter(
            settings.public_verify_per_minute, burst=max(1, settings.public_verify_per_minute // 3)
        )
        self.shares = ShareService(self.database, self.vault)
        self.requests = RequestService(self.database, self.vault)
        self.access_log = AccessLog(self.database)
        self.share_miss_limit = RateLimiter(
            settings.share_misses_per_minute, burst=max(1, settings.share_miss_burst)
        )
        self.sign_in_limit = RateLimiter(
            settings.sign_in_failures_per_minute, burst=max(1, settings.sign_in_failure_burst)
        )
        self.metrics = api.Metrics()
        self.procedures = ProcedureCatalogue(self.database)
        self.filings = FilingService(self.database)
        self.notifications = NotificationService(
            self.database, self.keyring, webhook_allow_private=settings.webhook_allow_private
        )
        self.dispatcher = build_dispatcher(settings, self.database, self.keyring)

    async def migrate(self) -> None:
        await anyio.to_thread.run_sync(migrate.upgrade, self.settings.db_url)

    async def verifier(self) -> Verifier:
        """The verification pipeline, started on first use: its sandbox workers and the
        demo PKI's CRLs and OCSP responders (served to it in process, never over HTTP)."""
        async with self._verifier_lock:
            if self._verifier is None:
                pki = await self.signing.ready()
                revocation = InMemoryRevocationSource(
                    {pki.crl_url(ca): functools.partial(pki.crl, ca) for ca in CA_NAMES}
                )
                ocsp = InMemoryOcspSource(
                    {pki.ocsp_url(ca): functools.partial(pki.ocsp, ca) for ca in CA_NAMES}
                )
                pool = SandboxPool(SandboxSettings(workers=self.settings.verify_workers))
                await pool.start()
                self._verifier = Verifier(
                    self.registry_source,
                    revocation,
                    ocsp=ocsp,
                    analyser=pool,
                    settings=VerifierSettings(
                        revocation_policy=(
                            "soft-fail"
                            if self.settings.revocation_policy == "soft-fail"
                            else "hard-fail"
                        )
                    ),
                )
            return self._verifier

    async def stored_documents(self) -> StoredDocuments:
        if self._stored is None:
            self._stored = StoredDocuments(self.vault, await self.verifier())
        return self._stored

    async def close(self) -> None:
        await self.dispatcher.aclose()
        if self._verifier is not None:
            await self._verifier.aclose()
        await anyio.to_thread.run_sync(self.signing_http.close)
        await self.blobs.close()
        await self.database.dispose()


def configure_logging(settings: Settings) -> None:
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    # Note: Kho seals with revocation data it supplies itself and forbids network
    # fetching on purpose; pyHanko warns about exactly that on every B-LT seal.
    logging.getLogger("pyhanko.sign.signers.pdf_signer").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    processors.append(
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )


class RegistryOutsideTrust:
    """Signing's ``TrustSource``: the trust registry's anchors, intermediates and
    allow-listed revocation URLs (``kho registry anchors|urls add``), e.g. for B-LT
    seals stamped by an outside TSA (``KHO_TSA_URL``)."""

    def __init__(self, registry: DatabaseRegistrySource) -> None:
        self._registry = registry

    async def outside_trust(self) -> OutsideTrust:
        try:
            registry = await self._registry.current()
        except VerificationUnavailable:
            # security: the cause (a database error, SQL included) is not for clients.
            raise RevocationInfoUnavailable("the trust registry could not be read") from None
        return OutsideTrust(
            anchors=registry.anchors,
            certificates=registry.intermediates,
            revocation_urls=frozenset(registry.revocation_urls),
        )


class OwnerTokenCscAuth:
    """Who may call the embedded CSC provider: a citizen with their own Kho token, or a
    relying party - an agency client listed in ``KHO_CSC_RELYING_PARTIES`` (e.g. another
    Kho whose ``KHO_CSC_URL`` points here), with its OAuth2 client-credentials token -
    which names citizens by ``userID`` = personal ID."""

    def __init__(
        self, accounts: AccountService, database: Database, relying_parties: frozenset[str]
    ) -> None:
        self._accounts = accounts
        self._db = database
        self._relying_parties = relying_parties

    async def caller_for_token(self, token: str) -> CscCaller | None:
        try:
            principal = await self._accounts.authenticate(token)
        except AuthenticationFailed:
            return None
        if principal.kind == "owner":
            return CscCaller(user=str(principal.owner_id))
        if principal.kind == "agency" and principal.agency_code in self._relying_parties:
            return CscCaller(relying_party=principal.agency_code)
        return None

    async def user_for_id(self, user_id: str) -> str | None:
        owner = await owner_for_personal_id(self._db, user_id)
        return None if owner is None else str(owner)


def create_app(settings: Settings, services: Services | None = None) -> Litestar:
    """Build the app.  Tests call this directly with their own ``Settings``."""
    svc = services or Services(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.should_migrate_on_start:
            await svc.migrate()
        if settings.is_sqlite:
            # The embedded default has its demo PKI from the first start (CRLs, the TSA
            # and agency seals answer at once, not after a first slow request).
            await svc.signing.ready()
        if settings.worker_in_process:
            svc.dispatcher.start()
        try:
            yield
        finally:
            await svc.dispatcher.stop()
            if services is None:
                await svc.close()

    def const(value: object) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    https = settings.base_url.startswith("https://")
    return Litestar(
        route_handlers=[
            *api.ROUTES,
            web.web_router(hsts=https, cookie_secure=settings.cookie_secure),
        ],
        template_config=web.template_config(),
        csrf_config=CSRFConfig(
            secret=settings.csrf_secret or secrets.token_hex(32),
            cookie_name="kho_csrf",
            cookie_secure=https,
            cookie_samesite="lax",
            cookie_httponly=False,
            # Note: the JSON API authenticates with bearer tokens (no ambient cookies),
            # so only the people's pages need the double-submit check.
            exclude=["/api/", "/csc/", "/tsa", "/pki/", "/health/", "/metrics", "/schema"],
        ),
        dependencies={
            "settings": const(settings),
            "database": const(svc.database),
            "blobs": const(svc.blobs),
            "vault": const(svc.vault),
            "accounts": const(svc.accounts),
            "signing": const(svc.signing),
            "citizen_signing": const(svc.citizen_signatures),
            "csc": const(svc.csc_endpoints),
            "csc_auth": const(
                OwnerTokenCscAuth(
                    svc.accounts,
                    svc.database,
                    frozenset(
                        code.strip()
                        for code in (settings.csc_relying_parties or "").split(",")
                        if code.strip()
                    ),
                )
            ),
            "metrics": const(svc.metrics),
            "principal": Provide(provide_principal),
            "verifier": Provide(svc.verifier, use_cache=True),
            "stored_documents": Provide(svc.stored_documents),
            "registry_source": const(svc.registry_source),
            "verifier_factory": const(svc.verifier),
            "receipts": const(svc.receipts),
            "sealed_reports": const(svc.sealed_reports),
            "operator_tokens": const(svc.operator_tokens),
            "registry_service": const(svc.registry),
            "public_verify_limit": const(svc.public_verify_limit),
            "shares": const(svc.shares),
            "requests": const(svc.requests),
            "access_log": const(svc.access_log),
            "share_miss_limit": const(svc.share_miss_limit),
            "share_viewing": const(
                ShareViewing(svc.shares, svc.stored_documents, svc.share_miss_limit, svc.accounts)
            ),
            "sign_in_limit": const(svc.sign_in_limit),
            "procedures": const(svc.procedures),
            "filings": const(svc.filings),
            "notifications": const(svc.notifications),
        },
        state=State({"base_url": settings.base_url}),
        exception_handlers=api.exception_handlers(),
        middleware=[svc.metrics.middleware],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Kho",
            version="0.1.0",
            description="Citizen document vault: JSON API",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        debug=False,
    )
