from __future__ import annotations

from django import forms

from pagedesk.core.errors import ApplicationError


def apply_error(form: forms.BaseForm, exc: ApplicationError) -> None:
    """Show a service's refusal on the form: beside each named field, else at the top."""
    if not exc.fields:
        form.add_error(None, exc.message)
        return
    for field, messages in exc.fields.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
