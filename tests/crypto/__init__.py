"""Tests of envelope encryption and per-person keys."""
