"""The ledger: subscribers, accounts, products, subscriptions, usage, bills and payments."""
