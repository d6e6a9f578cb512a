"""Threads as data and the classifier that places articles in them."""
