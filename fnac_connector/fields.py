"""Model fields."""

from __future__ import annotations

from django.db import models

from fnac_connector import crypto


class EncryptedTextField(models.TextField):
    """Stores a Fernet token; the Python value is the clear text. Not searchable, never logged."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)
