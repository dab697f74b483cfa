"""Slack listeners, one module per kind; each exposes `register(app, settings, ...)`."""
