"""The newest schema revision, as the migration tests of both engines expect it."""

HEAD = "0006"
HEAD_TITLE = "the monthly cycle: renewals once per subscriber and month, points on each bill"
