"""Transactional producers and the per-transaction verdict (issue 18)."""
