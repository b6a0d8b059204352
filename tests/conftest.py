"""Fixtures for every tier. Real dependencies live in tests/support, one module per dependency."""

pytest_plugins = ["tests.support.kafka", "tests.support.mesh", "tests.support.smtp"]
