"""The registry suite's app fixtures, for the in-process tests of events."""

from tests.registry.conftest import make_app, repo  # noqa: F401
