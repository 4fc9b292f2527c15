"""API tokens in the admin: listed by masked prefix, user, created and expiry; revoked by deleting them.

Created with `manage.py api_token create` only (the key is printed once there). Viewing and revoking need the
``accounts.view_apitoken`` / ``accounts.delete_apitoken`` permissions, which superusers have.
"""

from __future__ import annotations

import knox.admin  # noqa: F401  (registers knox's own admin first, so it can be replaced here)
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html
from knox.models import AuthToken
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from accounts import services
from accounts.models import ApiToken

if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)  # one place for tokens; knox's page lists digests and creates in a message


class ExpiredFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(Q(expiry__isnull=True) | Q(expiry__gt=now))
        if self.value() == "expired":
            return queryset.filter(expiry__lte=now)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(ModelAdmin):
    list_display = ["key_prefix", "user", "created", "expiry", "state"]
    list_filter = [ExpiredFilter]
    search_fields = ["user__username"]
    fields = ["key_prefix", "user", "created", "expiry", "state"]
    readonly_fields = fields
    actions = ["revoke"]
    list_select_related = ["user"]

    @admin.display(description="key")
    def key_prefix(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="state")
    def state(self, obj: ApiToken):
        if obj.is_expired:
            return format_html('<span style="color:#d93025">{}</span>', "expired")
        return format_html('<span style="color:#1e8e3e">{}</span>', "active")

    @admin.action(description="Revoke selected API tokens", permissions=["delete"])
    def revoke(self, request, queryset):
        count = services.api_tokens_revoke(tokens=queryset)
        self.message_user(request, f"{count} API token(s) revoked: requests with them are refused (401).")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "Revoke" does the same, through the service
        return actions

    def delete_model(self, request, obj):
        services.api_tokens_revoke(tokens=ApiToken.objects.filter(pk=obj.pk))

    def has_add_permission(self, request):
        return False  # `manage.py api_token create USER`: the key is printed once, never kept in a page or message

    def has_change_permission(self, request, obj=None):
        return False


# Users and groups in the console's look (django-unfold's forms keep the password widgets styled).
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass
