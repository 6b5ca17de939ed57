"""Helpers, seeds and fakes shared by the test kinds."""
