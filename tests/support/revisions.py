"""The newest schema revision, as the migration tests of both engines expect it."""

HEAD = "0004"
HEAD_TITLE = "USSD sessions in the ledger, for instances that share it"
