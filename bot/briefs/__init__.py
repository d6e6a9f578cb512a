"""Briefs: composing a thread's brief in one language, and its plain renderers."""
