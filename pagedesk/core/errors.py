"""Errors a user can act on. Services raise them; edges map them to a form error or a 4xx body."""

from __future__ import annotations


class ApplicationError(Exception):
    """A refusal with a stable machine code and a message that names the fix.

    `status` is the HTTP status an edge should answer with (409 for a state conflict, 403 for a
    permission problem, 422/400 for bad input); `field` names the form field at fault, if any.
    """

    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.field = field
        # Per-field messages when several fields are wrong at once (forms show each beside its input).
        self.fields = fields or ({field: [self.message]} if field else {})
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, dict[str, object]]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


def from_validation_error(exc: object, *, code: str = "invalid") -> ApplicationError:
    """Turn a Django ValidationError into an ApplicationError carrying every field's messages."""
    from django.core.exceptions import ValidationError

    assert isinstance(exc, ValidationError)
    if hasattr(exc, "error_dict"):
        fields = {
            name: [str(m) for e in errors for m in e.messages] for name, errors in exc.error_dict.items()
        }
        first_field = next(iter(fields))
        message = "; ".join(
            f"{name}: {' '.join(msgs)}" if name != "__all__" else " ".join(msgs)
            for name, msgs in fields.items()
        )
        return ApplicationError(
            code, message, field=None if first_field == "__all__" else first_field, fields=fields
        )
    return ApplicationError(code, " ".join(str(m) for m in exc.messages))


class PermissionDenied(ApplicationError):
    status = 403


class NotFound(ApplicationError):
    status = 404
