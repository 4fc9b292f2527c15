from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "fnac_sandbox"
    label = "sandbox"
    verbose_name = "Sandbox marketplace"
