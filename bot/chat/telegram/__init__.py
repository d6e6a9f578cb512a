"""Telegram: rendering, handlers, the PTB Application and the outbox sender."""
