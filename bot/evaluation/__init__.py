"""The evaluation harness: a labelled dev set in, the pipeline's quality figures out.

`metrics` holds the scoring as small pure functions; `devset` reads the labelled folder; `harness`
runs the real pipeline on a fresh temporary database and scores what it stored.
"""
