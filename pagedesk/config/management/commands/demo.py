from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from pagedesk.config.demo import PERSONAS, demo_activate, demo_load, demo_password
from pagedesk.core.errors import ApplicationError
from pagedesk.messenger.errors import GraphError


class Command(BaseCommand):
    help = "Load the demo users and campaign (safe to run again: existing data is kept)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--page-token",
            default="",
            help="Connect the demo campaign's page with this page access token (make demo passes the simulator's).",
        )

    def handle(self, *args: object, page_token: str, **options: object) -> None:
        result = demo_load()
        if result.campaign_created:
            self.stdout.write("Created the demo campaign “Acme Support”.")
        if page_token:
            try:
                page_name = demo_activate(page_token=page_token)
            except (ApplicationError, GraphError) as exc:
                raise CommandError(
                    f"Could not connect the demo page: {exc}. Is the simulator running (pagedesk simulator)?"
                ) from None
            self.stdout.write(f"The demo campaign answers the Facebook page “{page_name}”.")
        self.stdout.write("Demo logins (username / password):")
        for username, role, _first, _last in PERSONAS:
            note = "" if username in result.created_users else "  (already existed; password unchanged)"
            self.stdout.write(f"  {role:<10} {username:<6} / {demo_password(username)}{note}")
