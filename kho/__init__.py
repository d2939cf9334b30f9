"""Kho composition root: settings, wiring, the app factory and the ``kho`` CLI."""
