from typing import Any

from django.apps import AppConfig


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # lazy (app loading): services import models, which are not ready when this module is imported.
    from pagedesk.accounts.services import user_session_end

    if user is not None and request is not None:
        user_session_end(user=user, session_key=request.session.session_key)


class AccountsConfig(AppConfig):
    name = "pagedesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        user_logged_out.connect(_logged_out, dispatch_uid="pagedesk.accounts.logged_out")
