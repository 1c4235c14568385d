from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from pagedesk.accounts.models import PERSON_ROLES
from pagedesk.accounts.services import user_create
from pagedesk.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create a pagedesk user. Prompts for the password, or reads PAGEDESK_PASSWORD with --noinput."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=[value for value, _label in PERSON_ROLES])
        parser.add_argument("--email", default="")
        parser.add_argument("--noinput", "--no-input", action="store_true", dest="noinput")

    def handle(
        self, *args: object, username: str, role: str, email: str, noinput: bool, **options: object
    ) -> None:
        if noinput:
            password = os.environ.get("PAGEDESK_PASSWORD", "")
            if not password:
                raise CommandError(
                    "--noinput needs the password in the PAGEDESK_PASSWORD environment variable."
                )
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        try:
            user = user_create(username=username, role=role, email=email, password=password)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created {user.role} “{user.username}”.")
