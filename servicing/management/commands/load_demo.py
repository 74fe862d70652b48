from django.core.management.base import BaseCommand

from servicing.demo import load_demo, staff_login


class Command(BaseCommand):
    help = "Load the demo notes (once), post them through yesterday, and print the staff and approver logins."

    def add_arguments(self, parser):
        parser.add_argument("--no-login", action="store_true", help="do not create or reset the staff login")

    def handle(self, no_login, **options):
        for note in load_demo():
            self.stdout.write(f"demo note {note.number}: {note.holder}, principal {note.principal:,}")
        if not no_login:
            username, password = staff_login("approver", groups=("approver",), superuser=False)
            self.stdout.write(f"The second pair of eyes (approves what staff records): {username} / {password}")
            username, password = staff_login()
            self.stdout.write(self.style.SUCCESS(f"Log in at http://127.0.0.1:8000/ as {username} / {password}"))
