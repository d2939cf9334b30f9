"""Accounts: citizens (owners), agency clients and bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from sqlalchemy.orm import Session

from vault import audit, otp, validation
from vault.crypto import new_key
from vault.db import AgencyRow, AuditRow, Database, OfficialRow, OwnerRow, TokenRow, utcnow
from vault.errors import (
    AgencyExists,
    AgencyNotFound,
    AuthenticationFailed,
    InvalidInput,
    LoginThrottled,
    OfficialExists,
    OfficialNotFound,
    OwnerExists,
    OwnerNotFound,
    SecondFactorInvalid,
    SecondFactorRequired,
    SecondFactorState,
    SignInChallengeEnded,
)
from vault.ids import uuid7
from vault.keys import KeyRing
from vault.models import (
    Actor,
    ActorType,
    Agency,
    AgencyCredentials,
    IssuedToken,
    Official,
    Owner,
    OwnerStatus,
    Principal,
    SecondFactorSetup,
    VaultLimits,
)
from vault.passwords import check_password_strength, hash_password, verify_password

MAX_LOGIN_FAILURES = 5
LOGIN_WINDOW_SECONDS = 15 * 60
# how long the code step of a sign-in may wait after the password step
CHALLENGE_SECONDS = 5 * 60
CHALLENGE_KIND = "signin_challenge"  # a token row that authenticates nothing
LOCALES = ("vi", "en")

AGENCY_SCOPES = frozenset({"deposit", "revoke", "request", "certify", "filings"})
DEFAULT_AGENCY_SCOPES = frozenset({"deposit", "revoke", "request", "filings"})


# One indexed lookup resolves a bearer token with its owner or agency (the hottest query).
_TOKEN_LOOKUP = (
    select(
        TokenRow.id,
        TokenRow.kind,
        TokenRow.owner_id,
        TokenRow.agency_id,
        TokenRow.official_id,
        TokenRow.scopes,
        TokenRow.expires_at,
        TokenRow.revoked_at,
        OwnerRow.status.label("owner_status"),
        AgencyRow.code.label("agency_code"),
        AgencyRow.name.label("agency_name"),
        AgencyRow.active.label("agency_active"),
        AgencyRow.scopes.label("agency_scopes"),
        OfficialRow.name.label("official_name"),
        OfficialRow.active.label("official_active"),
    )
    .outerjoin(OwnerRow, OwnerRow.id == TokenRow.owner_id)
    .outerjoin(AgencyRow, AgencyRow.id == TokenRow.agency_id)
    .outerjoin(OfficialRow, OfficialRow.id == TokenRow.official_id)
    .where(TokenRow.token_hash == bindparam("digest"))
)


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe one-way index."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def owner_key_context(owner_id: UUID) -> bytes:
    return b"kho-owner-key:" + owner_id.bytes


def to_owner(row: OwnerRow) -> Owner:
    return Owner(
        id=row.id,
        personal_id=row.personal_id,
        name=row.name,
        status=OwnerStatus(row.status),
        used_bytes=row.used_bytes,
        locale=row.locale,
        created_at=row.created_at,
        second_factor=row.otp_enabled_at is not None,
    )


def to_agency(row: AgencyRow) -> Agency:
    return Agency(
        id=row.id,
        code=row.code,
        name=row.name,
        client_id=row.client_id,
        scopes=frozenset(row.scopes.split()),
        created_at=row.created_at,
    )


def new_owner_row(personal_id: str, name: str, status: OwnerStatus, keyring: KeyRing) -> OwnerRow:
    owner_id = uuid7()
    kek_id, wrapped = keyring.wrap(new_key(), owner_key_context(owner_id))
    return OwnerRow(
        id=owner_id,
        personal_id=personal_id,
        name=name,
        status=str(status),
        password_hash=None,
        kek_id=kek_id,
        wrapped_key=wrapped,
        used_bytes=0,
        audit_seq=0,
        audit_head="",
        locale="vi",
        created_at=utcnow(),
    )


def _recent_failures(
    session: Session, owner_id: UUID, since: datetime, action: str = "login_failed"
) -> int:
    """Failures since the last sign-in, within the window: kept in the audit chain
    itself, so every process sees the same count."""
    last_ok = session.scalar(
        select(func.max(AuditRow.seq)).where(
            AuditRow.owner_id == owner_id, AuditRow.action == "login"
        )
    )
    failures = session.scalar(
        select(func.count(AuditRow.id)).where(
            AuditRow.owner_id == owner_id,
            AuditRow.action == action,
            AuditRow.at >= since,
            AuditRow.seq > (last_ok or 0),
        )
    )
    return int(failures or 0)


def _setup(secret: bytes, owner: OwnerRow) -> SecondFactorSetup:
    return SecondFactorSetup(
        secret=otp.encoded(secret), uri=otp.provisioning_uri(secret, owner.personal_id)
    )


def _clear_second_factor(owner: OwnerRow) -> None:
    owner.otp_kek_id = None
    owner.otp_secret_wrapped = None
    owner.otp_enabled_at = None
    owner.otp_last_step = 0


class AccountService:
    def __init__(self, db: Database, keyring: KeyRing, limits: VaultLimits) -> None:
        self._db = db
        self._keyring = keyring
        self._limits = limits

    # -- citizens ---------------------------------------------------------------------

    async def create_owner(self, personal_id: str, name: str, password: str) -> Owner:
        """Create a citizen account, or claim one a deposit created before.

        Raises ``InvalidInput`` for a malformed ID, name or weak password and
        ``OwnerExists`` when an active account already holds the ID.
        """
        personal_id = validation.personal_id(personal_id)
        name = validation.name(name)
        if (why := check_password_strength(password)) is not None:
            raise InvalidInput("password", why)
        pw_hash = await hash_password(password)
        actor = Actor(type=ActorType.OPERATOR, name="account creation")
        async with self._db.write() as session:
            row = await session.scalar(
                select(OwnerRow).where(OwnerRow.personal_id == personal_id).with_for_update()
            )
            if row is not None and row.status == OwnerStatus.ACTIVE:
                raise OwnerExists(personal_id)
            if row is None:
                row = new_owner_row(personal_id, name, OwnerStatus.ACTIVE, self._keyring)
                session.add(row)
                await session.flush()
            elif row.wrapped_key is None:  # a deleted account's ID used again: fresh key
                row.kek_id, row.wrapped_key = self._keyring.wrap(
                    new_key(), owner_key_context(row.id)
                )
            row.name = name
            row.status = str(OwnerStatus.ACTIVE)
            row.password_hash = pw_hash
            row.deleted_at = None
            _clear_second_factor(row)
            audit.append(session, row, actor, "account_created")
            return to_owner(row)

    async def get_owner(self, owner_id: UUID) -> Owner:
        async with self._db.read() as session:
            row = await session.get(OwnerRow, owner_id)
            if row is None or row.status == OwnerStatus.DELETED:
                raise OwnerNotFound(str(owner_id))
            return to_owner(row)

    async def login(
        self,
        personal_id: str,
        password: str,
        ip: str | None,
        *,
        otp_code: str | None = None,
        challenge: bool = False,
    ) -> IssuedToken:
        """Check a citizen's password (and, when the account has turned it on, its
        one-time code ``otp_code``) and issue a bearer token.

        Raises ``AuthenticationFailed`` without saying whether the ID exists,
        ``LoginThrottled`` after too many failures, ``SecondFactorRequired`` when the
        password is right but the code is missing (with a challenge for
        ``complete_login`` when ``challenge`` is set) and ``SecondFactorInvalid`` for
        a wrong or reused code (a failure like a wrong password).
        """
        try:
            personal_id = validation.personal_id(personal_id)
        except InvalidInput:
            await verify_password(None, password)
            raise AuthenticationFailed() from None
        since = utcnow() - timedelta(seconds=LOGIN_WINDOW_SECONDS)

        def load(session: Session) -> tuple[OwnerRow | None, int]:
            row = session.scalar(select(OwnerRow).where(OwnerRow.personal_id == personal_id))
            if row is None:
                return None, 0
            return row, _recent_failures(session, row.id, since)

        row, failures = await self._db.run_read(load)
        if failures >= MAX_LOGIN_FAILURES:
            # security: throttle guessing per account; the citizen's next success (after
            # the window) resets the count.  Answered before any password check.
            raise LoginThrottled(LOGIN_WINDOW_SECONDS)
        stored = row.password_hash if row is not None and row.status == OwnerStatus.ACTIVE else None
        ok = await verify_password(stored, password)
        if row is None:
            raise AuthenticationFailed()
        owner_id = row.id

        def record(session: Session) -> IssuedToken | Exception:
            owner = session.scalar(
                select(OwnerRow).where(OwnerRow.id == owner_id).with_for_update()
            )
            assert owner is not None
            actor = Actor(type=ActorType.OWNER, id=str(owner.id), name=owner.name, ip=ip)
            if not ok:
                if owner.status == OwnerStatus.ACTIVE:
                    audit.append(session, owner, actor, "login_failed")
                return AuthenticationFailed()
            if owner.otp_enabled_at is not None:
                if not otp_code:
                    if not challenge:
                        return SecondFactorRequired()
                    secret, row = self._new_token(CHALLENGE_KIND, frozenset())
                    row.owner_id = owner.id
                    row.expires_at = row.created_at + timedelta(seconds=CHALLENGE_SECONDS)
                    session.add(row)
                    return SecondFactorRequired(secret)
                if (refused := self._spend_code(session, owner, actor, otp_code)) is not None:
                    return refused
            return self._issue_owner_token(session, owner, actor)

        result = await self._db.run_write(record)
        if isinstance(result, Exception):
            raise result
        return result

    async def complete_login(self, challenge: str, otp_code: str, ip: str | None) -> IssuedToken:
        """The code step of a sign-in whose password step raised
        ``SecondFactorRequired(challenge)``.  Raises ``SignInChallengeEnded`` for an
        unknown or expired challenge, ``LoginThrottled`` after too many failures and
        ``SecondFactorInvalid`` for a wrong or reused code (counted like a wrong
        password; the challenge stays, so the citizen can type the code again)."""
        if not challenge or len(challenge) > 200:
            raise SignInChallengeEnded()
        digest = token_hash(challenge)
        now = utcnow()
        since = now - timedelta(seconds=LOGIN_WINDOW_SECONDS)

        def record(session: Session) -> IssuedToken | Exception:
            row = session.scalar(
                select(TokenRow)
                .where(TokenRow.token_hash == digest, TokenRow.kind == CHALLENGE_KIND)
                .with_for_update()
            )
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                return SignInChallengeEnded()
            owner = session.scalar(
                select(OwnerRow).where(OwnerRow.id == row.owner_id).with_for_update()
            )
            if owner is None or owner.status != OwnerStatus.ACTIVE or owner.otp_enabled_at is None:
                return SignInChallengeEnded()
            if _recent_failures(session, owner.id, since) >= MAX_LOGIN_FAILURES:
                return LoginThrottled(LOGIN_WINDOW_SECONDS)
            actor = Actor(type=ActorType.OWNER, id=str(owner.id), name=owner.name, ip=ip)
            if (refused := self._spend_code(session, owner, actor, otp_code)) is not None:
                return refused
            row.revoked_at = now
            return self._issue_owner_token(session, owner, actor)

        result = await self._db.run_write(record)
        if isinstance(result, Exception):
            raise result
        return result

    def _spend_code(
        self, session: Session, owner: OwnerRow, actor: Actor, code: str
    ) -> SecondFactorInvalid | None:
        """Accept ``code`` once (its step is recorded) or count a failed sign-in."""
        step = otp.matching_step(self._otp_secret(owner), code, utcnow(), owner.otp_last_step)
        if step is None:
            audit.append(session, owner, actor, "login_failed", detail={"reason": "one-time code"})
            return SecondFactorInvalid()
        owner.otp_last_step = step
        return None

    def _otp_secret(self, owner: OwnerRow) -> bytes:
        assert owner.otp_secret_wrapped is not None
        return self._keyring.unwrap(
            owner.otp_kek_id or "", owner.otp_secret_wrapped, otp.key_context(owner.id)
        )

    def _issue_owner_token(self, session: Session, owner: OwnerRow, actor: Actor) -> IssuedToken:
        token, issued = self._new_token("owner", frozenset({"owner"}))
        issued.owner_id = owner.id
        session.add(issued)
        audit.append(session, owner, actor, "login")
        return IssuedToken(
            token=token,
            expires_in=self._limits.token_ttl_seconds,
            scopes=frozenset(),
            locale=owner.locale,
        )

    # -- the citizen's settings: language, one-time code at sign-in ----------------------

    async def set_locale(self, owner_id: UUID, locale: str) -> None:
        """Save the citizen's language (``vi`` or ``en``); raises ``InvalidInput``."""
        if locale not in LOCALES:
            raise InvalidInput("locale", f"one of {', '.join(LOCALES)}")
        stmt = (
            update(OwnerRow)
            .where(OwnerRow.id == owner_id, OwnerRow.locale != locale)
            .values(locale=locale)
        )
        await self._db.run_write(lambda session: session.execute(stmt))

    async def start_second_factor(self, owner_id: UUID) -> SecondFactorSetup:
        """A new secret for the one-time code, pending until ``confirm_second_factor``
        (it replaces one pending before).  Raises ``SecondFactorState("on")`` when the
        code is already on and ``OwnerNotFound``."""
        secret = otp.new_secret()
        kek_id, wrapped = self._keyring.wrap(secret, otp.key_context(owner_id))

        def store(session: Session) -> SecondFactorSetup:
            owner = self._active_owner(session, owner_id, lock=True)
            if owner.otp_enabled_at is not None:
                raise SecondFactorState("on")
            owner.otp_kek_id, owner.otp_secret_wrapped = kek_id, wrapped
            owner.otp_last_step = 0
            return _setup(secret, owner)

        return await self._db.run_write(store)

    async def pending_second_factor(self, owner_id: UUID) -> SecondFactorSetup | None:
        """The secret being enrolled (shown until it is confirmed, never after), or None."""

        def load(session: Session) -> SecondFactorSetup | None:
            owner = self._active_owner(session, owner_id)
            if owner.otp_enabled_at is not None or owner.otp_secret_wrapped is None:
                return None
            return _setup(self._otp_secret(owner), owner)

        return await self._db.run_read(load)

    async def confirm_second_factor(self, owner_id: UUID, code: str, actor: Actor) -> None:
        """Turn the pending code on once ``code`` proves the app has it.  Raises
        ``SecondFactorState`` (already on, or nothing pending), ``SecondFactorInvalid``
        and ``LoginThrottled`` (too many wrong codes)."""
        await self._change_second_factor(owner_id, code, actor, turn_on=True)

    async def turn_off_second_factor(self, owner_id: UUID, code: str, actor: Actor) -> None:
        """Turn the code off (a current code is required; the secret is destroyed).
        Raises ``SecondFactorState("off")``, ``SecondFactorInvalid`` and
        ``LoginThrottled``."""
        await self._change_second_factor(owner_id, code, actor, turn_on=False)

    async def _change_second_factor(
        self, owner_id: UUID, code: str, actor: Actor, *, turn_on: bool
    ) -> None:
        now = utcnow()
        since = now - timedelta(seconds=LOGIN_WINDOW_SECONDS)

        def change(session: Session) -> Exception | None:
            owner = self._active_owner(session, owner_id, lock=True)
            if owner.otp_secret_wrapped is None or (owner.otp_enabled_at is None) != turn_on:
                return SecondFactorState("on" if turn_on else "off")
            # security: a stolen session cannot guess its way to turning the code off
            if _recent_failures(session, owner.id, since, "otp_change_failed") >= (
                MAX_LOGIN_FAILURES
            ):
                return LoginThrottled(LOGIN_WINDOW_SECONDS)
            step = otp.matching_step(self._otp_secret(owner), code, now, owner.otp_last_step)
            if step is None:
                audit.append(session, owner, actor, "otp_change_failed")
                return SecondFactorInvalid()
            if turn_on:
                owner.otp_enabled_at = now
                owner.otp_last_step = step
                audit.append(session, owner, actor, "otp_enabled")
            else:
                _clear_second_factor(owner)
                audit.append(session, owner, actor, "otp_disabled")
            return None

        # a refusal is returned rather than raised so that its audit event is kept
        refused = await self._db.run_write(change)
        if refused is not None:
            raise refused

    def _active_owner(self, session: Session, owner_id: UUID, *, lock: bool = False) -> OwnerRow:
        stmt = select(OwnerRow).where(OwnerRow.id == owner_id)
        owner = session.scalar(stmt.with_for_update() if lock else stmt)
        if owner is None or owner.status != OwnerStatus.ACTIVE:
            raise OwnerNotFound(str(owner_id))
        return owner

    def _new_token(self, kind: str, scopes: frozenset[str]) -> tuple[str, TokenRow]:
        token = secrets.token_urlsafe(32)  # security: 256 bits from the OS CSPRNG
        now = utcnow()
        ttl = (
            self._limits.agency_token_ttl_seconds
            if kind == "agency"
            else self._limits.token_ttl_seconds
        )
        row = TokenRow(
            id=uuid7(),
            token_hash=token_hash(token),
            kind=kind,
            scopes=" ".join(sorted(scopes)),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
            revoked_at=None,
        )
        return token, row

    async def authenticate(self, token: str) -> Principal:
        """Resolve a bearer token; raises ``AuthenticationFailed`` if unknown, expired or revoked."""
        if not token or len(token) > 200:
            raise AuthenticationFailed()
        digest = token_hash(token)
        now = utcnow()

        def resolve(conn: Connection) -> Principal:
            row = conn.execute(_TOKEN_LOOKUP, {"digest": digest}).first()
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                raise AuthenticationFailed()
            if row.kind == "owner":
                if row.owner_status != OwnerStatus.ACTIVE:
                    raise AuthenticationFailed()
                return Principal(kind="owner", token_id=row.id, owner_id=row.owner_id)
            if row.agency_code is None or not row.agency_active:
                raise AuthenticationFailed()
            if row.kind == "official":
                if not row.official_active:
                    raise AuthenticationFailed()
                # An official acts with the agency's current scopes.
                return Principal(
                    kind="official",
                    token_id=row.id,
                    agency_id=row.agency_id,
                    agency_code=row.agency_code,
                    agency_name=row.agency_name,
                    scopes=frozenset(row.agency_scopes.split()),
                    official_id=row.official_id,
                    official_name=row.official_name,
                )
            return Principal(
                kind="agency",
                token_id=row.id,
                agency_id=row.agency_id,
                agency_code=row.agency_code,
                agency_name=row.agency_name,
                scopes=frozenset(row.scopes.split()),
            )

        return await self._db.run_query(resolve)

    async def revoke_token(self, token_id: UUID) -> None:
        stmt = (
            update(TokenRow)
            .where(TokenRow.id == token_id, TokenRow.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        await self._db.run_write(lambda session: session.execute(stmt))

    async def purge_expired_tokens(self) -> int:
        async with self._db.write() as session:
            result = await session.execute(delete(TokenRow).where(TokenRow.expires_at < utcnow()))
            return int(getattr(result, "rowcount", 0) or 0)

    async def check_owner_password(self, owner_id: UUID, password: str) -> None:
        async with self._db.read() as session:
            row = await session.get(OwnerRow, owner_id)
        stored = row.password_hash if row is not None else None
        if not await verify_password(stored, password):
            raise AuthenticationFailed()

    # -- agencies ---------------------------------------------------------------------

    async def create_agency(
        self, code: str, name: str, scopes: frozenset[str] | None = None
    ) -> AgencyCredentials:
        """Register an agency client; the secret in the result is shown once only."""
        code = validation.agency_code(code)
        name = validation.name(name)
        scopes = DEFAULT_AGENCY_SCOPES if scopes is None else scopes
        if unknown := scopes - AGENCY_SCOPES:
            raise InvalidInput("scopes", f"unknown scopes: {', '.join(sorted(unknown))}")
        secret = secrets.token_urlsafe(32)
        row = AgencyRow(
            id=uuid7(),
            code=code,
            name=name,
            client_id=f"{code.lower()}-{secrets.token_hex(8)}",
            secret_hash=token_hash(secret),
            scopes=" ".join(sorted(scopes)),
            active=True,
            created_at=utcnow(),
        )
        try:
            async with self._db.write() as session:
                if await session.scalar(select(AgencyRow.id).where(AgencyRow.code == code)):
                    raise AgencyExists(code)
                session.add(row)
        except SQLIntegrityError:
            raise AgencyExists(code) from None
        return AgencyCredentials(agency=to_agency(row), client_secret=secret)

    async def get_agency_by_code(self, code: str) -> Agency:
        async with self._db.read() as session:
            row = await session.scalar(select(AgencyRow).where(AgencyRow.code == code))
            if row is None:
                raise AgencyNotFound(code)
            return to_agency(row)

    async def list_agencies(self) -> list[Agency]:
        async with self._db.read() as session:
            rows = (await session.scalars(select(AgencyRow).order_by(AgencyRow.code))).all()
            return [to_agency(r) for r in rows]

    async def client_credentials(
        self, client_id: str, client_secret: str, scope: str | None
    ) -> IssuedToken:
        """OAuth2 client-credentials grant.  Raises ``AuthenticationFailed`` on bad
        credentials and ``InvalidInput`` for a scope the client was not granted."""
        async with self._db.read() as session:
            row = await session.scalar(select(AgencyRow).where(AgencyRow.client_id == client_id))
        expected = row.secret_hash if row is not None else "0" * 64
        good = hmac.compare_digest(expected, token_hash(client_secret))
        if row is None or not good or not row.active:
            raise AuthenticationFailed()
        granted = frozenset(row.scopes.split())
        wanted = frozenset(scope.split()) if scope else granted
        if not wanted <= granted:
            raise InvalidInput("scope", "requests a scope this client was not granted")
        token, tok = self._new_token("agency", wanted)
        tok.agency_id = row.id
        async with self._db.write() as session:
            session.add(tok)
        return IssuedToken(
            token=token, expires_in=self._limits.agency_token_ttl_seconds, scopes=wanted
        )

    # -- officials --------------------------------------------------------------------

    async def create_official(
        self, agency_code: str, username: str, name: str, password: str
    ) -> Official:
        """Add a person who works for an agency.  Raises ``AgencyNotFound``,
        ``InvalidInput`` (malformed username or name, weak password) or ``OfficialExists``."""
        username = validation.username(username)
        name = validation.name(name)
        if (why := check_password_strength(password)) is not None:
            raise InvalidInput("password", why)
        pw_hash = await hash_password(password)

        def tx(session: Session) -> Official:
            agency = session.scalar(select(AgencyRow).where(AgencyRow.code == agency_code))
            if agency is None:
                raise AgencyNotFound(agency_code)
            taken = session.scalar(
                select(OfficialRow.id).where(
                    OfficialRow.agency_id == agency.id, OfficialRow.username == username
                )
            )
            if taken is not None:
                raise OfficialExists(agency_code, username)
            row = OfficialRow(
                id=uuid7(),
                agency_id=agency.id,
                username=username,
                name=name,
                password_hash=pw_hash,
                active=True,
                failed_logins=0,
                created_at=utcnow(),
            )
            session.add(row)
            return to_official(row, agency.code)

        try:
            return await self._db.run_write(tx)
        except SQLIntegrityError:
            raise OfficialExists(agency_code, username) from None

    async def list_officials(self, agency_code: str) -> list[Official]:
        def q(session: Session) -> list[Official]:
            rows = session.execute(
                select(OfficialRow, AgencyRow.code)
                .join(AgencyRow, AgencyRow.id == OfficialRow.agency_id)
                .where(AgencyRow.code == agency_code)
                .order_by(OfficialRow.username)
            ).all()
            return [to_official(r[0], r[1]) for r in rows]

        return await self._db.run_read(q)

    async def set_official_active(self, agency_code: str, username: str, active: bool) -> None:
        """Disable (or re-enable) an official; a disabled official's tokens stop working
        at once."""

        def tx(session: Session) -> None:
            agency_id = session.scalar(select(AgencyRow.id).where(AgencyRow.code == agency_code))
            row = session.scalar(
                select(OfficialRow).where(
                    OfficialRow.agency_id == agency_id, OfficialRow.username == username
                )
            )
            if row is None:
                raise OfficialNotFound(agency_code, username)
            row.active = active

        await self._db.run_write(tx)

    async def official_login(self, agency_code: str, username: str, password: str) -> IssuedToken:
        """Check an official's password and issue a bearer token.  Five failures within
        the window throttle that official (``LoginThrottled``); raises
        ``AuthenticationFailed`` without saying what was wrong."""
        now = utcnow()
        window = timedelta(seconds=LOGIN_WINDOW_SECONDS)

        def load(session: Session) -> OfficialRow | None:
            return session.scalar(
                select(OfficialRow)
                .join(AgencyRow, AgencyRow.id == OfficialRow.agency_id)
                .where(
                    AgencyRow.code == agency_code,
                    AgencyRow.active.is_(True),
                    OfficialRow.username == username[:80],
                )
            )

        row = await self._db.run_read(load)
        if (
            row is not None
            and row.failed_logins >= MAX_LOGIN_FAILURES
            and row.failed_since is not None
            and row.failed_since > now - window
        ):
            raise LoginThrottled(LOGIN_WINDOW_SECONDS)
        stored = row.password_hash if row is not None and row.active else None
        ok = await verify_password(stored, password)
        if row is None:
            raise AuthenticationFailed()
        official_id = row.id

        def record(session: Session) -> IssuedToken | None:
            off = session.scalar(
                select(OfficialRow).where(OfficialRow.id == official_id).with_for_update()
            )
            assert off is not None
            if not ok:
                if off.failed_since is None or off.failed_since <= now - window:
                    off.failed_logins, off.failed_since = 0, now
                off.failed_logins += 1
                return None
            off.failed_logins, off.failed_since = 0, None
            token, issued = self._new_token("official", frozenset())
            issued.agency_id = off.agency_id
            issued.official_id = off.id
            session.add(issued)
            return IssuedToken(
                token=token, expires_in=self._limits.token_ttl_seconds, scopes=frozenset()
            )

        result = await self._db.run_write(record)
        if result is None:
            raise AuthenticationFailed()
        return result


def to_official(row: OfficialRow, agency_code: str) -> Official:
    return Official(
        id=row.id,
        agency_code=agency_code,
        username=row.username,
        name=row.name,
        active=row.active,
        created_at=row.created_at,
    )
