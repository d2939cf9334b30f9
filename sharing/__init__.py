"""Sharing and once-only: share links, consent requests, procedures and filings,
notifications.  Built on the vault; nothing here imports HTTP."""
