"""SoftHSM2 for tests: a throw-away token directory with initialised tokens.

SoftHSM2 reads ``SOFTHSM2_CONF`` once, when the module is first loaded in a process,
so the session fixture in ``conftest.py`` sets it before any ``Pkcs11KeyStore`` is used
and keeps it for the whole test session.  Debian's ``softhsm2`` package provides the
module and ``softhsm2-util`` (``test:softhsm2`` in ``deploy/debian-packages.txt``); if
it is missing the fixture fails with a message saying so, it never skips.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN = "kho-test"
PIN = "1234"
SO_PIN = "5678"
# A second token nobody logs in to with the right PIN (wrong-PIN tests need a token this
# process has not logged in to: PKCS#11 login is per process).
SPARE_TOKEN = "kho-spare"


@dataclass(frozen=True)
class SoftHsm:
    module: str
    conf: Path
    token: str
    pin: str
    spare_token: str


def init_softhsm(directory: Path, labels: tuple[str, ...] = (TOKEN, SPARE_TOKEN)) -> Path:
    """Write ``directory/softhsm2.conf`` (tokens in ``directory/tokens``) and initialise
    one token per label with ``PIN``/``SO_PIN``; return the configuration file."""
    util = shutil.which("softhsm2-util")
    if util is None or not Path(MODULE).exists():
        raise RuntimeError(
            "SoftHSM2 is not installed (apt-get install softhsm2; it is listed as "
            "test:softhsm2 in deploy/debian-packages.txt)"
        )
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    env = {"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"}
    for label in labels:
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN],
            env=env,
            check=True,
            capture_output=True,
        )
    return conf
