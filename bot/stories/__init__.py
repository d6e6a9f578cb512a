"""Stories: one event as several outlets covered it, clustered on the write path."""
