from __future__ import annotations

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand

from pagedesk.simulator.__main__ import add_arguments, serve


class Command(BaseCommand):
    help = "Run the bundled Facebook simulator (Graph API, OAuth dialog, customer chat) for demos and tests."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_arguments(parser)

    def handle(self, *args: object, **options: object) -> None:
        # Default to pagedesk's own Facebook settings so both sides agree on the app and its secret.
        def pick(name: str, setting: str | None = None) -> str | None:
            value = options.get(name)
            if value:
                return str(value)
            return (getattr(settings, setting, "") or None) if setting else None

        serve(
            host=str(options["host"]),
            port=int(str(options["port"])),
            data_dir=pick("data_dir") or str(settings.DATA_DIR / "simulator"),
            pagedesk_url=str(options["pagedesk_url"] or "http://127.0.0.1:8000"),
            webhook_url=pick("webhook_url"),
            public_url=pick("public_url"),
            app_id=pick("app_id", "FACEBOOK_APP_ID"),
            app_secret=pick("app_secret", "FACEBOOK_APP_SECRET"),
            verify_token=pick("verify_token", "FACEBOOK_VERIFY_TOKEN"),
            log_level=str(options["log_level"]),
        )
