"""The newest schema revision, as the migration tests of both engines expect it."""

HEAD = "0007"
HEAD_TITLE = "voice and MMS packs, bill choices, PUK codes and recharge cards"
