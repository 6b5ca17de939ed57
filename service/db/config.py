"""Tortoise configuration for the `tortoise` command line (makemigrations, sqlmigrate).

Developers run ``tortoise -c service.db.config.TORTOISE_ORM makemigrations``; the
service itself builds the same dictionary from its settings.
"""

from __future__ import annotations

import os

from service.settings import DEFAULT_DATABASE_URL, tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
