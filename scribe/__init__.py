"""Mediation scribe: speech-to-document assistant for mediation and legal consultation."""

__version__ = "0.1.0"
