"""Keyword classes, one concern each; ``library.py`` combines them."""
