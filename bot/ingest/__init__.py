"""Ingestion: fetch (network guard, charset repair), source readers, dedupe, the pipeline, the catalogue."""
