"""The newest schema revision, as the migration tests of both engines expect it."""

HEAD = "0005"
HEAD_TITLE = "至尊 as a VIP level"
