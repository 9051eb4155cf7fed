"""Webhooks: companies' subscriptions (routes, services), the events recorded for them
(events), where they may be sent (addresses) and how (sending, the webhook channel)."""
