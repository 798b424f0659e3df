"""The newest schema revision, as the migration tests of both engines expect it."""

HEAD = "0003"
HEAD_TITLE = "instances that share the ledger, and which of them owns each MO and MT"
