"""The ``kho`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from kho.app import Services, configure_logging, create_app
from kho.registry_cli import add_admin_parser, add_registry_parser, register_agency_issuer
from kho.settings import Settings, SettingsError
from vault.errors import VaultError
from verification.registry_db import RegistryError

Command = Callable[[Services, argparse.Namespace], Awaitable[int]]


def _run(args: argparse.Namespace, fn: Command, *, migrate: bool = True) -> int:
    settings = Settings.from_env()
    configure_logging(settings)

    async def main() -> int:
        services = Services(settings)
        try:
            if migrate and settings.should_migrate_on_start:
                await services.migrate()
            return await fn(services, args)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except (VaultError, RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


# -- commands -----------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings.from_env()
    configure_logging(settings)
    app = create_app(settings)
    # Note: what exists now (modules, the app, its services) lives as long as the
    # process; frozen, the cyclic GC stops walking it on every full collection (those
    # walks took about a quarter of the outbox fan-out's CPU, measured in process).
    gc.collect()
    gc.freeze()
    print(f"Kho is serving on http://{args.host}:{args.port}  (data: {settings.data_dir})")
    print(f"  API docs: http://{args.host}:{args.port}/schema/swagger")
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=settings.access_log,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from kho import migrate

    settings = Settings.from_env()
    migrate.upgrade(settings.db_url)
    print("database is at the latest schema")
    return 0


async def _user_create(services: Services, args: argparse.Namespace) -> int:
    if not args.password_stdin:
        print("error: pass --password-stdin and the password on standard input", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    owner = await services.accounts.create_owner(args.personal_id, args.name, password)
    print(f"created citizen {owner.personal_id} ({owner.name}), id {owner.id}")
    return 0


async def _official_create(services: Services, args: argparse.Namespace) -> int:
    if not args.password_stdin:
        print("error: pass --password-stdin and the password on standard input", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    official = await services.accounts.create_official(
        args.agency, args.username, args.name, password
    )
    print(f"created official {official.username} ({official.name}) of {official.agency_code}")
    print("They sign in with POST /api/v1/auth/official-login {agency, username, password}.")
    return 0


async def _official_disable(services: Services, args: argparse.Namespace) -> int:
    await services.accounts.set_official_active(args.agency, args.username, False)
    print(f"disabled official {args.username} of {args.agency}; their tokens stop working")
    return 0


async def _agency_create(services: Services, args: argparse.Namespace) -> int:
    scopes = frozenset(args.scopes.split(",")) if args.scopes else None
    types = [t.strip() for t in (args.doc_types or "").split(",") if t.strip()]
    await services.registry.check_document_types(types)  # before anything is created
    creds = await services.accounts.create_agency(args.code, args.name, scopes)
    print(f"agency:        {creds.agency.code} ({creds.agency.name})")
    print(f"scopes:        {' '.join(sorted(creds.agency.scopes))}")
    print(f"client_id:     {creds.agency.client_id}")
    print(f"client_secret: {creds.client_secret}")
    print("The secret is shown this once; only its hash is stored.")
    await services.signing.ready()
    seal = services.signing.agency_credential(creds.agency.code, creds.agency.name)
    print(f"seal:          certificate from the demo agency CA (key {seal.key_id})")
    # Registered as an issuer even without types, so its seals are recognised (a paper of
    # a type it may not issue then fails as "not authorized", not as "unknown issuer").
    await register_agency_issuer(services, creds.agency.code, creds.agency.name, types)
    print(f"issuer of:     {', '.join(types) or '(no document types yet)'} (trust registry)")
    return 0


async def _audit_verify(services: Services, args: argparse.Namespace) -> int:
    from vault.maintenance import verify_audit

    checked, breaks = await verify_audit(services.database)
    if not breaks:
        print(f"audit chains intact: {checked} owners checked")
        return 0
    for brk in breaks:
        print(
            f"BROKEN chain of owner {brk.owner_id} (personal ID {brk.personal_id}): "
            f"event #{brk.seq} {brk.event_id or ''} — {brk.reason}",
            file=sys.stderr,
        )
    print(f"{len(breaks)} of {checked} chains broken", file=sys.stderr)
    return 1


async def _gc(services: Services, args: argparse.Namespace) -> int:
    from vault.maintenance import collect_garbage

    grace = args.grace_seconds
    if grace is None:
        grace = services.settings.gc_grace_seconds
    report = await collect_garbage(
        services.database, services.blobs, grace=timedelta(seconds=grace)
    )
    print(
        f"scanned {report.scanned} blobs: removed {report.orphans_removed} orphans, "
        f"{report.orphans_in_grace} within the grace period, "
        f"{report.temp_files_removed} abandoned temp files"
    )
    return 0


async def _keys_rotate(services: Services, args: argparse.Namespace) -> int:
    from sharing.notify.service import rewrap_webhook_secrets
    from vault.keys import LocalKeyRing
    from vault.maintenance import rewrap_keys

    settings = services.settings
    old = services.keyring
    assert isinstance(old, LocalKeyRing)
    if settings.master_key:
        # Operator-managed keys: the new key must already be first in KHO_MASTER_KEY.
        report = await rewrap_keys(services.database, old, old)
        await rewrap_webhook_secrets(services.database, old, old)
        csc = await services.csc.rewrap_secrets(old)
        print(f"rewrapped the signing secrets of {csc} CSC credentials")
        print(
            f"rewrapped {report.owners_rewrapped} owner keys and "
            f"{report.documents_rewrapped} held document keys under {report.new_key_id}; "
            "older keys may now be removed from KHO_MASTER_KEY"
        )
        return 0
    path = settings.master_key_file
    new = old.with_new_current()
    new.save_file(path)  # both keys on disk first: a crash mid-rotation loses nothing
    report = await rewrap_keys(services.database, new, new)
    await rewrap_webhook_secrets(services.database, new, new)
    csc = await services.csc.rewrap_secrets(new)
    print(f"rewrapped the signing secrets of {csc} CSC credentials")
    new.only_current().save_file(path)
    print(
        f"new master key {report.new_key_id}: rewrapped {report.owners_rewrapped} owner keys "
        f"and {report.documents_rewrapped} held document keys; the old key is destroyed"
    )
    return 0


async def _worker(services: Services, args: argparse.Namespace) -> int:
    """Drain the notification outbox: until nothing is due (``--once``) or until
    interrupted.  Any number may run against PostgreSQL."""
    dispatcher = services.dispatcher
    if args.status:
        print(f"{'':10} {'pending':>8} {'given up':>9} {'done':>8}")
        for row in await dispatcher.status():
            print(f"{row.channel:10} {row.pending:8} {row.given_up:9} {row.done:8}")
        return 0
    if args.once:
        handled = await dispatcher.drain(max_passes=1000)
        print(f"handled {handled} outbox events and deliveries")
        return 0
    runner = asyncio.create_task(dispatcher.run_forever())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.cancel)
    print(
        f"worker draining the outbox every {dispatcher.settings.poll_seconds:g}s (Ctrl-C stops)",
        flush=True,
    )
    # Note: a delivery cut short here is leased, not lost: it is sent again later.
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    await dispatcher.stop()  # lets sends in flight finish (or be retried later)
    print("worker stopped")
    return 0


async def _pki_export_root(services: Services, args: argparse.Namespace) -> int:
    await services.signing.ready()
    print(services.signing.export_root_pem(), end="")
    return 0


async def _demo(services: Services, args: argparse.Namespace) -> int:
    from kho.demo import seed

    await seed(services, print)
    return 0


def _async(fn: Command, *, migrate: bool = True) -> Callable[[argparse.Namespace], int]:
    return lambda args: _run(args, fn, migrate=migrate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kho", description="Kho citizen document vault")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the web app and API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="upgrade the database schema (KHO_DATABASE_URL)")
    p.set_defaults(func=cmd_migrate)

    user = sub.add_parser("user", help="citizen accounts").add_subparsers(dest="sub", required=True)
    p = user.add_parser("create", help="create a citizen account")
    p.add_argument("--personal-id", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=_async(_user_create))

    agency = sub.add_parser("agency", help="agency clients").add_subparsers(
        dest="sub", required=True
    )
    p = agency.add_parser("create", help="register an agency; prints its credentials once")
    p.add_argument("--code", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--scopes", help="comma-separated (default deposit,revoke,request,filings)")
    p.add_argument(
        "--doc-types",
        help="comma-separated document types this agency issues (registers it as an issuer)",
    )
    p.set_defaults(func=_async(_agency_create))

    official = sub.add_parser("official", help="officials of agencies").add_subparsers(
        dest="sub", required=True
    )
    p = official.add_parser("create", help="add an official to an agency")
    p.add_argument("--agency", required=True, help="the agency's code")
    p.add_argument("--username", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=_async(_official_create))
    p = official.add_parser("disable", help="disable an official (tokens stop working)")
    p.add_argument("--agency", required=True)
    p.add_argument("--username", required=True)
    p.set_defaults(func=_async(_official_disable))

    p = sub.add_parser("demo", help="seed demo citizens, agencies and documents (idempotent)")
    p.set_defaults(func=_async(_demo))

    audit = sub.add_parser("audit", help="audit log").add_subparsers(dest="sub", required=True)
    p = audit.add_parser("verify", help="check every owner's hash chain")
    p.set_defaults(func=_async(_audit_verify))

    p = sub.add_parser("gc", help="remove blobs that no document references")
    p.add_argument("--grace-seconds", type=int, default=None)
    p.set_defaults(func=_async(_gc))

    p = sub.add_parser(
        "worker", help="deliver notifications from the outbox (email, SMS, webhooks)"
    )
    p.add_argument("--once", action="store_true", help="drain what is due, then exit")
    p.add_argument(
        "--status", action="store_true", help="count pending, given-up and done deliveries"
    )
    p.set_defaults(func=_async(_worker))

    add_registry_parser(sub)
    add_admin_parser(sub)

    pki = sub.add_parser("pki", help="the demo PKI").add_subparsers(dest="sub", required=True)
    p = pki.add_parser("export-root", help="print the demo root CA certificate (PEM)")
    p.set_defaults(func=_async(_pki_export_root))

    keys = sub.add_parser("keys", help="master keys").add_subparsers(dest="sub", required=True)
    p = keys.add_parser("rotate", help="new master key; rewrap owner keys")
    p.set_defaults(func=_async(_keys_rotate))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: Any = args.func(args)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
