"""CSC API v2 remote signing: Kho's embedded provider and Kho as a client.

Public surface::

    service    CscService(store, keys, keyring, CscSettings(), clock=...)
               .enroll(user, credential, pin) -> Enrollment   .unlock(credential_id)
               .info() / .credentials_list / .credentials_info / .credentials_authorize
               / .signatures_sign_hash                         (the CSC v2 operations)
    store      CredentialStore (Protocol: add/get/list_user/update/spend_sad, per record),
               MemoryCredentialStore(), FileCredentialStore(dir), DatabaseCredentialStore(db)
    keys       DigestSigner (Protocol), SoftwareDigestKeyStore(directory, keyring)
    protocol   CscEndpoints(service): CSC v2 JSON bodies in and out (HTTP and in-process)
    transport  CscTransport (Protocol), InProcessTransport(endpoints, user),
               AiohttpTransport(session, base_url, token)
    client     CscClient(transport), CscSigner (a pyHanko Signer speaking v2),
               CitizenSigning(timestamper=..., validation_material=...)
               .start(client, credential_id, pdf, ...) -> SigningStart
               .finish(client, state, prepared_pdf, pin=..., otp=...) -> signed pdf
"""

from signing.csc.client import (
    CitizenLevel,
    CitizenSigning,
    CscClient,
    CscSigner,
    RemoteCredential,
    SigningStart,
)
from signing.csc.errors import (
    CredentialExists,
    CredentialLocked,
    CredentialNotFound,
    CscError,
    CscRemoteError,
    CscUnavailable,
    InvalidCscRequest,
    InvalidOtp,
    InvalidPin,
    InvalidSad,
    SigningStateInvalid,
)
from signing.csc.keys import DigestSigner, SoftwareDigestKeyStore
from signing.csc.models import (
    Authorization,
    CredentialInfo,
    CscCaller,
    CscSettings,
    Enrollment,
    ServiceInfo,
)
from signing.csc.protocol import CscEndpoints
from signing.csc.service import CscService
from signing.csc.store import CredentialStore, FileCredentialStore, MemoryCredentialStore
from signing.csc.transport import AiohttpTransport, CscTransport, InProcessTransport

__all__ = [
    "AiohttpTransport",
    "Authorization",
    "CitizenLevel",
    "CitizenSigning",
    "CredentialExists",
    "CredentialInfo",
    "CredentialLocked",
    "CredentialNotFound",
    "CredentialStore",
    "CscCaller",
    "CscClient",
    "CscEndpoints",
    "CscError",
    "CscRemoteError",
    "CscService",
    "CscSettings",
    "CscSigner",
    "CscTransport",
    "CscUnavailable",
    "DigestSigner",
    "Enrollment",
    "FileCredentialStore",
    "InProcessTransport",
    "InvalidCscRequest",
    "InvalidOtp",
    "InvalidPin",
    "InvalidSad",
    "MemoryCredentialStore",
    "RemoteCredential",
    "ServiceInfo",
    "SigningStart",
    "SigningStateInvalid",
    "SoftwareDigestKeyStore",
]
