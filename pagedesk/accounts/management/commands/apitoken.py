from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from pagedesk.accounts.models import User
from pagedesk.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Print a new personal API token for a user (send it as `Authorization: Bearer <token>`)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--name", default="cli", help="A label to recognise the token by.")

    def handle(self, *args: object, username: str, name: str, **options: object) -> None:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user named “{username}”.")
        _token, raw = api_token_create(user=user, name=name)
        self.stdout.write(raw)
