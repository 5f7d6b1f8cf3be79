"""Case work: alerts under triage, cases worked by Professional Standards to recorded outcomes,
and historical case records, in a SQLAlchemy database (SQLite under HOME, or PostgreSQL).

Every step is a transition row and a ledger event; every read of personal data by an
investigator is itself recorded in the ledger."""
