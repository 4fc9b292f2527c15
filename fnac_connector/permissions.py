"""The API's default permission class: staff only, and the Django model permissions of each view (issue 9).

Kept apart from ``fnac_connector.api`` because DRF imports it while ``rest_framework.views`` is still loading.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions, permissions

# The API is for staff: every view needs an active staff user holding the Django model permissions of what it
# does. One default permission class (REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]) covers every view; a view
# states what differs as data, keyed by viewset action or HTTP method:
#     required_perms = {"connect": ["stores.connect_store"], "POST": ["stores.sync_store"]}
# Views open by design (the WMS endpoints, HMAC-signed) set their own ``permission_classes``.
VERB_OF_ACTION = {"list": "view", "retrieve": "view", "create": "add", "update": "change",
                  "partial_update": "change", "destroy": "delete"}
VERB_OF_METHOD = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


def model_of(view):
    model = getattr(view, "perm_model", None)
    if model is None and getattr(view, "queryset", None) is not None:
        model = view.queryset.model
    if model is None and hasattr(view, "get_queryset"):
        try:
            model = view.get_queryset().model
        except AssertionError:  # a generic view with neither queryset nor get_queryset
            model = None
    return model


def required_perms(view, request) -> list[str]:
    """The permissions ``request`` needs on ``view``: declared in ``view.required_perms``, else derived from the
    view's model (view for reads, add for create, change for updates and custom actions, delete for DELETE)."""
    declared = getattr(view, "required_perms", None) or {}
    action = getattr(view, "action", None)
    safe = request.method in permissions.SAFE_METHODS
    for key in (action, request.method, "GET" if safe else None):
        if key and key in declared:
            return list(declared[key])
    if getattr(view, request.method.lower(), None) is None:
        return []  # a method the view does not implement: DRF answers 405, nothing runs
    model = model_of(view)
    if model is None:
        if safe and declared:  # OPTIONS of a view that only declares its writes: as strict as its writes
            return sorted({p for perms in declared.values() for p in perms})
        raise ImproperlyConfigured(f"{type(view).__name__} has no model: declare required_perms for "
                                   f"{action or request.method}")
    if action in VERB_OF_ACTION:
        verb = VERB_OF_ACTION[action]
    elif safe:
        verb = "view"
    elif action:
        verb = "change"  # a custom action on objects of the model
    else:
        verb = VERB_OF_METHOD.get(request.method, "change")
    return [f"{model._meta.app_label}.{verb}_{model._meta.model_name}"]


def missing_perms(user, perms) -> list[str]:
    return [p for p in perms if not user.has_perm(p)]


def denied_message(missing) -> str:
    return (f"You do not have the permission to do this (missing: {', '.join(missing)}); ask an administrator for a "
            "role that includes it.")


def check_perms(user, perms) -> None:
    """For what depends on the request body (a door asking for more than its view's permissions)."""
    missing = missing_perms(user, perms)
    if missing:
        raise exceptions.PermissionDenied(denied_message(missing))


class StaffModelPermissions(permissions.BasePermission):
    """Active staff users holding the model permissions of the view (``required_perms``); superusers hold all."""

    message = "This API is for staff users."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not (user.is_active and user.is_staff):
            self.message = "This API is for staff users: ask an administrator to give your user staff status."
            return False
        missing = missing_perms(user, required_perms(view, request))
        if missing:
            self.message = denied_message(missing)
            return False
        return True
