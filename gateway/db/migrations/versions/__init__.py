"""The revisions, oldest first by their ids (Alembic orders them by ``down_revision``)."""
