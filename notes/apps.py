from django.apps import AppConfig
from django.db.backends.signals import connection_created


class NotesConfig(AppConfig):
    name = "notes"

    def ready(self):
        from notes.fields import register_collation

        # The exact decimal columns' collation (notes.fields), on SQLite connections.
        connection_created.connect(register_collation, dispatch_uid="notes.decimal_collation")
