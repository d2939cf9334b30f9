"""Tests of the verification package."""
