"""The admin API under ``/api/v1/`` (JSON, behind a bearer token): subscribers, payments, subscriptions,
messages, and its own OpenAPI document. See docs/admin-api.md.

- :mod:`.routes`: the route list and the handlers (:class:`AdminApi`);
- :mod:`.auth`: the bearer tokens; :mod:`.answers`: errors as JSON;
- :mod:`.validate`: strict field checks and their JSON Schema; :mod:`.openapi`: the document;
- :mod:`.changes`: the writes, each inside one group commit; :mod:`.reads`, :mod:`.views`: reads and answers;
  their statements are in :mod:`gateway.db.admin_changes` and :mod:`gateway.db.admin_reads`.
"""

from gateway.admin.reads import AdminReads
from gateway.admin.routes import AdminApi

__all__ = ["AdminApi", "AdminReads"]
