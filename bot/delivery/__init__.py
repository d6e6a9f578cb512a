"""Delivery: the outbox of briefs to send, and the paced workers that send them."""
