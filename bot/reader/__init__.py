"""Reader control: cadence, instant alerts, quiet hours, keyword filters, and briefs on the web."""
