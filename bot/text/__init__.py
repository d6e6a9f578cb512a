"""Text handling: normalization, cleaning, language, dates and sentences."""
