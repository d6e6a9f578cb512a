"""Chat adapters (Telegram, Slack) and what they share: splitting and bidirectional text."""
