"""Fixtures shared by the integration tests beyond tests/conftest.py: the REDCap double."""

from tests.support.edc_push_fixtures import edc_client, redcap

__all__ = ["edc_client", "redcap"]
