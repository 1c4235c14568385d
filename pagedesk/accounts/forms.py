from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from pagedesk.accounts.models import PERSON_ROLES, Role, User


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=PERSON_ROLES, initial=Role.AGENT)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)


class UserEditForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=PERSON_ROLES)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    is_active = forms.BooleanField(label=_("Active (can log in)"), required=False)
    password = forms.CharField(
        label=_("New password"),
        widget=forms.PasswordInput,
        strip=False,
        required=False,
        help_text=_("Leave empty to keep the current password."),
    )


class BreakReasonForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)


class LoginForm(AuthenticationForm):
    def confirm_login_allowed(self, user: User) -> None:
        """An integration's user works through the API only: it is refused like a wrong password, even
        if someone gave it one (it is created without), so the page tells nothing of it."""
        super().confirm_login_allowed(user)
        if user.role == Role.INTEGRATION:
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token label"), max_length=80, required=False)
