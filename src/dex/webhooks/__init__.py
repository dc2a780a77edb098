"""Signed webhooks: per-org endpoints, an outbox written with the state change it announces, and a
delivery loop with capped exponential backoff, a delivery log and manual redelivery."""
