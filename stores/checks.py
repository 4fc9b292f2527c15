from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=False)
def encryption_key_check(app_configs, **kwargs):
    if getattr(settings, "FIELD_ENCRYPTION_KEYS", None):
        return []
    if getattr(settings, "PRODUCTION", False):
        return [checks.Error("FIELD_ENCRYPTION_KEY is not set", id="stores.E001",
                             hint="Set it to a Fernet key; marketplace keys are encrypted with it.")]
    return [checks.Warning("FIELD_ENCRYPTION_KEY is not set: a development key encrypts marketplace keys",
                           id="stores.W001", hint="Set FIELD_ENCRYPTION_KEY before storing real credentials.")]
