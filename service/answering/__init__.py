"""Answering: from a question and retrieved passages to a checked, cited answer or an abstention."""
