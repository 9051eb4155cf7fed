"""Email notifications through an outbox: recorded with the change, sent after the commit."""
