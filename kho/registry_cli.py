"""``kho registry ...``: the operator's commands for the trust registry, and the
registration of a new agency as an issuer (``kho agency create --doc-types``).

``kho/cli.py`` calls ``add_registry_parser(sub)`` from ``build_parser``.  Until then
``python -m kho.registry_cli ...`` runs the same commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from uuid import UUID

from kho.app import Services
from signing import CA_NAMES
from verification.operators import OperatorTokenError, OperatorTokens
from verification.registry import Issuer, IssuerMatch
from verification.registry_db import (
    AnchorRole,
    RegistryError,
    RegistryService,
    load_certificate,
)

Command = Callable[[Services, argparse.Namespace], Awaitable[int]]


def registry_of(services: Services) -> RegistryService:
    # Note: stateless over the database, so building one per command costs nothing.
    return RegistryService(services.database)


async def ensure_demo_registry(services: Services) -> None:
    """Make the demo PKI trusted (idempotent): its root as the trust anchor, its agency
    and citizen CAs as intermediates, and its CRL URLs on the revocation allow-list.
    Bumps the registry version only when something was missing."""
    pki = await services.signing.ready()
    registry = registry_of(services)
    await registry.add_anchor("Kho demo root CA", pki.ca_certificate("root"), exist_ok=True)
    for ca in CA_NAMES[1:]:
        await registry.add_anchor(
            f"Kho demo {ca}", pki.ca_certificate(ca), role="intermediate", exist_ok=True
        )
    for ca in CA_NAMES:
        await registry.add_revocation_url(pki.crl_url(ca))
        await registry.add_revocation_url(pki.ocsp_url(ca), kind="ocsp")


async def register_agency_issuer(
    services: Services, code: str, name: str, doc_types: Iterable[str]
) -> Issuer:
    """Register the agency ``code`` as an issuer of ``doc_types``.

    On the embedded default its seals come from the demo agency CA, so the demo PKI is
    made trusted first (``ensure_demo_registry``) and the agency is recognised by
    certificates that CA issued with ``OU=code``.  Idempotent; raises
    ``UnknownDocumentType`` (and changes nothing) for a code not in the catalogue.
    """
    types = tuple(doc_types)
    registry = registry_of(services)
    await registry.check_document_types(types)
    await ensure_demo_registry(services)
    agency_ca = services.signing.pki.ca_certificate("agency-ca")
    return await registry.register_issuer(
        code,
        name,
        (IssuerMatch.issued_by(agency_ca, organizational_unit_name=code),),
        types,
    )


# -- commands -------------------------------------------------------------------------


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


async def _anchors_list(services: Services, args: argparse.Namespace) -> int:
    for a in await registry_of(services).list_anchors():
        print(
            f"{a.fingerprint}  {a.role:<12}  {a.name}  ({a.subject}; until {a.not_after:%Y-%m-%d})"
        )
    return 0


async def _anchors_add(services: Services, args: argparse.Namespace) -> int:
    role: AnchorRole = "intermediate" if args.intermediate else "anchor"
    anchor = await registry_of(services).add_anchor(args.name, _read(args.pem_file), role=role)
    print(f"added {anchor.role} {anchor.fingerprint} ({anchor.subject})")
    return 0


async def _anchors_remove(services: Services, args: argparse.Namespace) -> int:
    await registry_of(services).remove_anchor(args.fingerprint)
    print(f"removed {args.fingerprint}")
    return 0


def _describe(match: IssuerMatch) -> str:
    parts = []
    if match.certificate_sha256:
        parts.append(f"certificate {match.certificate_sha256}")
    if match.issued_by_sha256:
        parts.append(f"issued by {match.issued_by_sha256}")
    parts.extend(f"{k}={v}" for k, v in sorted(match.subject.items()))
    return ", ".join(parts)


async def _issuers_list(services: Services, args: argparse.Namespace) -> int:
    for issuer in await registry_of(services).list_issuers():
        print(f"{issuer.code}  {issuer.name}")
        print(f"    may issue: {', '.join(sorted(issuer.doc_types)) or '(nothing)'}")
        for match in issuer.matches:
            print(f"    matches:   {_describe(match)}")
    return 0


async def _issuers_add(services: Services, args: argparse.Namespace) -> int:
    ca = load_certificate(_read(args.issued_by_ca_pem))
    subject = {"organizational_unit_name": args.ou} if args.ou else {}
    doc_types = [t for t in (args.doc_types or "").split(",") if t]
    issuer = await registry_of(services).add_issuer(
        args.code, args.name, (IssuerMatch.issued_by(ca, **subject),), doc_types
    )
    print(f"registered issuer {issuer.code} ({issuer.name})")
    return 0


async def _issuers_remove(services: Services, args: argparse.Namespace) -> int:
    await registry_of(services).remove_issuer(args.code)
    print(f"removed issuer {args.code}")
    return 0


async def _types_list(services: Services, args: argparse.Namespace) -> int:
    for t in await registry_of(services).list_document_types():
        print(f"{t.code:<22} {t.name_vi} / {t.name_en}")
    return 0


async def _types_add(services: Services, args: argparse.Namespace) -> int:
    t = await registry_of(services).add_document_type(args.code, args.vi, args.en)
    print(f"added document type {t.code}")
    return 0


async def _types_rename(services: Services, args: argparse.Namespace) -> int:
    t = await registry_of(services).rename_document_type(
        args.code, name_vi=args.vi, name_en=args.en
    )
    print(f"{t.code}: {t.name_vi} / {t.name_en}")
    return 0


async def _types_remove(services: Services, args: argparse.Namespace) -> int:
    await registry_of(services).remove_document_type(args.code)
    print(f"removed document type {args.code}")
    return 0


async def _allow(services: Services, args: argparse.Namespace) -> int:
    changed = await registry_of(services).allow(args.issuer, args.doc_type)
    print(f"{args.issuer} {'may now' if changed else 'already may'} issue {args.doc_type}")
    return 0


async def _deny(services: Services, args: argparse.Namespace) -> int:
    changed = await registry_of(services).deny(args.issuer, args.doc_type)
    print(
        f"{args.issuer} {'may no longer' if changed else 'already may not'} issue {args.doc_type}"
    )
    return 0


async def _urls_list(services: Services, args: argparse.Namespace) -> int:
    for url in await registry_of(services).list_revocation_urls(args.kind):
        print(url)
    return 0


async def _urls_add(services: Services, args: argparse.Namespace) -> int:
    changed = await registry_of(services).add_revocation_url(args.url, args.kind or "crl")
    print(f"{'allowed' if changed else 'already allowed'}: {args.url}")
    return 0


async def _urls_remove(services: Services, args: argparse.Namespace) -> int:
    await registry_of(services).remove_revocation_url(args.url)
    print(f"no longer allowed: {args.url}")
    return 0


async def _version(services: Services, args: argparse.Namespace) -> int:
    print(await registry_of(services).version())
    return 0


async def _demo(services: Services, args: argparse.Namespace) -> int:
    await ensure_demo_registry(services)
    print(f"the demo PKI is trusted; registry version {await registry_of(services).version()}")
    return 0


async def _token_create(services: Services, args: argparse.Namespace) -> int:
    token, secret = await OperatorTokens(services.database).create(
        args.name, ttl_days=args.ttl_days
    )
    # security: the secret is shown this once; only its hash is stored.
    print(secret)
    print(
        f"operator token {token.id} for {token.name!r}, scope admin, "
        f"expires {token.expires_at:%Y-%m-%d}",
        file=sys.stderr,
    )
    return 0


async def _token_list(services: Services, args: argparse.Namespace) -> int:
    for t in await OperatorTokens(services.database).list():
        state = (
            f"revoked {t.revoked_at:%Y-%m-%d}"
            if t.revoked_at
            else f"expires {t.expires_at:%Y-%m-%d}"
        )
        print(f"{t.id}  {' '.join(sorted(t.scopes)):<6} {state:<20} {t.name}")
    return 0


async def _token_revoke(services: Services, args: argparse.Namespace) -> int:
    try:
        token_id = UUID(args.id)
    except ValueError:
        print(f"error: {args.id!r} is not a token id", file=sys.stderr)
        return 2
    await OperatorTokens(services.database).revoke(token_id)
    print(f"revoked {token_id}")
    return 0


def _handled(fn: Command) -> Command:
    """Registry errors are the operator's to fix: one line on stderr, exit status 2."""

    async def run(services: Services, args: argparse.Namespace) -> int:
        try:
            return await fn(services, args)
        except (RegistryError, OperatorTokenError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
            return 2

    return run


def _async(fn: Command) -> Callable[[argparse.Namespace], int]:
    def call(args: argparse.Namespace) -> int:
        # Note: imported here because kho.cli imports this module to build its parser.
        from kho.cli import _run

        return _run(args, _handled(fn))

    return call


def add_registry_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``registry`` and its subcommands to the ``kho`` parser's subparsers."""
    registry = sub.add_parser(
        "registry", help="the trust registry: anchors, issuers, document types"
    ).add_subparsers(dest="registry_command", required=True)

    anchors = registry.add_parser("anchors", help="trust anchors").add_subparsers(
        dest="sub", required=True
    )
    p = anchors.add_parser("list", help="list trust anchors and intermediates")
    p.set_defaults(func=_async(_anchors_list))
    p = anchors.add_parser("add", help="trust a CA certificate (PEM or DER file)")
    p.add_argument("--name", required=True)
    p.add_argument("--pem-file", required=True)
    p.add_argument(
        "--intermediate", action="store_true", help="offer for path building; do not trust"
    )
    p.set_defaults(func=_async(_anchors_add))
    p = anchors.add_parser("remove", help="stop trusting a certificate")
    p.add_argument("--fingerprint", required=True, help="SHA-256 of the DER, hex")
    p.set_defaults(func=_async(_anchors_remove))

    issuers = registry.add_parser("issuers", help="issuing agencies").add_subparsers(
        dest="sub", required=True
    )
    p = issuers.add_parser("list", help="list issuers, what identifies them, what they issue")
    p.set_defaults(func=_async(_issuers_list))
    p = issuers.add_parser("add", help="register an issuer by the CA that issues its seals")
    p.add_argument("--code", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--issued-by-ca-pem", required=True, help="the issuing CA's certificate")
    p.add_argument("--ou", help="require this organizationalUnitName in the subject")
    p.add_argument("--doc-types", help="comma-separated document type codes")
    p.set_defaults(func=_async(_issuers_add))
    p = issuers.add_parser("remove", help="remove an issuer and its authorizations")
    p.add_argument("--code", required=True)
    p.set_defaults(func=_async(_issuers_remove))

    types = registry.add_parser("types", help="document types").add_subparsers(
        dest="sub", required=True
    )
    p = types.add_parser("list", help="list document types")
    p.set_defaults(func=_async(_types_list))
    p = types.add_parser("add", help="add a document type")
    p.add_argument("--code", required=True)
    p.add_argument("--vi", required=True, help="Vietnamese name")
    p.add_argument("--en", required=True, help="English name")
    p.set_defaults(func=_async(_types_add))
    p = types.add_parser("rename", help="change a document type's names")
    p.add_argument("--code", required=True)
    p.add_argument("--vi")
    p.add_argument("--en")
    p.set_defaults(func=_async(_types_rename))
    p = types.add_parser("remove", help="remove a document type no issuer is authorized for")
    p.add_argument("--code", required=True)
    p.set_defaults(func=_async(_types_remove))

    for name, fn, text in (("allow", _allow, "authorize"), ("deny", _deny, "stop authorizing")):
        p = registry.add_parser(name, help=f"{text} an issuer for a document type")
        p.add_argument("--issuer", required=True)
        p.add_argument("--doc-type", required=True)
        p.set_defaults(func=_async(fn))

    urls = registry.add_parser("urls", help="allowed revocation (CRL) URLs").add_subparsers(
        dest="sub", required=True
    )
    p = urls.add_parser("list", help="list allowed CRL URLs and OCSP responders")
    p.add_argument("--kind", choices=["crl", "ocsp"])
    p.set_defaults(func=_async(_urls_list))
    p = urls.add_parser("add", help="allow fetching a CRL (or asking an OCSP responder)")
    p.add_argument("--url", required=True)
    p.add_argument("--kind", choices=["crl", "ocsp"], help="default: crl")
    p.set_defaults(func=_async(_urls_add))
    p = urls.add_parser("remove", help="stop fetching from this URL")
    p.add_argument("--url", required=True)
    p.set_defaults(func=_async(_urls_remove))

    p = registry.add_parser("demo", help="trust the demo PKI (idempotent)")
    p.set_defaults(func=_async(_demo))

    p = registry.add_parser("version", help="print the registry version")
    p.set_defaults(func=_async(_version))


def add_admin_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``kho admin token create|list|revoke``: operator tokens for the admin API."""
    admin = sub.add_parser("admin", help="operators of the admin API").add_subparsers(
        dest="admin_command", required=True
    )
    tokens = admin.add_parser("token", help="operator bearer tokens (scope admin)").add_subparsers(
        dest="sub", required=True
    )
    p = tokens.add_parser("create", help="make a token and print it once")
    p.add_argument("--name", required=True, help="who holds it")
    p.add_argument("--ttl-days", type=int, default=90)
    p.set_defaults(func=_async(_token_create))
    p = tokens.add_parser("list", help="list tokens (never their secrets)")
    p.set_defaults(func=_async(_token_list))
    p = tokens.add_parser("revoke", help="revoke a token by id")
    p.add_argument("id")
    p.set_defaults(func=_async(_token_revoke))


def main(argv: list[str] | None = None) -> int:
    """``python -m kho.registry_cli ...``: the registry commands before ``kho/cli.py``
    wires them in (same behaviour as ``kho registry ...``)."""
    from kho.settings import SettingsError

    parser = argparse.ArgumentParser(prog="kho")
    add_registry_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
