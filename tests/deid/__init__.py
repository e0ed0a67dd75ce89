"""Tests of de-identification."""
