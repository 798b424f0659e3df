"""The schema's revisions, run by Alembic (:mod:`gateway.db.migrate`): one module per revision in ``versions/``.

A new revision is a new module there, never an edit of one that has shipped: ``revision`` its id (the
next number, ``"0002"``), ``down_revision`` the one before, the first paragraph of its docstring a few
words of what it does (``gateway ledger migrate`` prints it), and ``upgrade()`` its statements through
``op.execute`` in SQL that SQLite and PostgreSQL both take, or with a branch on
``op.get_bind().dialect.name`` where they differ.
"""
