"""The ledger's tables. Money columns are integer fen, data integer KB, instants epoch seconds,
days ISO dates in the operator's time zone, cycles ``'YYYY-MM'``."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriber (
    msisdn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    brand TEXT NOT NULL,                                   -- 全球通 / 动感地带 / 神州行
    vip TEXT NOT NULL DEFAULT 'none' CHECK (vip IN ('none', 'silver', 'gold', 'diamond')),
    plan TEXT NOT NULL,                                    -- a plan code of config/products.toml
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'terminated')),
    password_hash TEXT,                                    -- salted hash of the service password
    id_hash TEXT,                                          -- salted hash of the ID number, never the number
    id_tail_hash TEXT,                                     -- salted hash of the ID number's last 6 characters
    created_on TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS account (
    msisdn TEXT PRIMARY KEY REFERENCES subscriber (msisdn),
    cash INTEGER NOT NULL DEFAULT 0,                       -- cash book (negative: in arrears)
    gift INTEGER NOT NULL DEFAULT 0 CHECK (gift >= 0),     -- gift book
    gift_expires TEXT,                                     -- last day the gift book can be spent
    credit_limit INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    valid_until TEXT,                                      -- prepaid validity date
    points INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscription (
    id INTEGER PRIMARY KEY,
    msisdn TEXT NOT NULL,
    product TEXT NOT NULL,                                 -- a package code
    started_at REAL NOT NULL,
    ends_at REAL                                           -- NULL while it runs
);
CREATE INDEX IF NOT EXISTS subscription_by_msisdn ON subscription (msisdn);
CREATE TABLE IF NOT EXISTS usage (
    msisdn TEXT NOT NULL,
    cycle TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('voice', 'sms', 'mms', 'data')),
    quantity INTEGER NOT NULL DEFAULT 0,                   -- seconds, messages or KB
    charged INTEGER NOT NULL DEFAULT 0,                    -- fen this usage cost beyond packages
    PRIMARY KEY (msisdn, cycle, category)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fee (
    id INTEGER PRIMARY KEY,
    msisdn TEXT NOT NULL,
    cycle TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('plan', 'data', 'sms', 'vas')),
    product TEXT NOT NULL,
    amount INTEGER NOT NULL,
    charged_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS fee_by_msisdn ON fee (msisdn, cycle);
CREATE TABLE IF NOT EXISTS bill (
    msisdn TEXT NOT NULL,
    cycle TEXT NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (msisdn, cycle)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bill_line (
    msisdn TEXT NOT NULL,
    cycle TEXT NOT NULL,
    category TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (msisdn, cycle, category)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payment (
    id INTEGER PRIMARY KEY,
    msisdn TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    channel TEXT NOT NULL,
    paid_at REAL NOT NULL,
    reference TEXT                                         -- the payer's own id (admin API): paid once
);
CREATE INDEX IF NOT EXISTS payment_by_msisdn ON payment (msisdn, paid_at);
CREATE UNIQUE INDEX IF NOT EXISTS payment_by_reference ON payment (reference);
-- Dialogs (gateway/dialog/): one pending dialog at most per subscriber and service number.
CREATE TABLE IF NOT EXISTS dialog (
    msisdn TEXT NOT NULL,
    service_number TEXT NOT NULL,
    kind TEXT NOT NULL,            -- order | cancel | pick | password_change | password_reset
    state TEXT NOT NULL,           -- the machine's state
    data TEXT NOT NULL,            -- JSON: what the next step needs (never a password or ID in clear)
    expires_at REAL NOT NULL,
    PRIMARY KEY (msisdn, service_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS password_failure (
    msisdn TEXT NOT NULL,
    failed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS password_failure_by_msisdn ON password_failure (msisdn, failed_at);
"""

CHARGE_CATEGORIES = ("plan", "vas", "voice", "sms", "mms", "data")
"""The order charges are listed in (101, bills)."""
