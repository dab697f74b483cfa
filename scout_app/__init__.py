"""The application layer: the only package that knows both the engine and the Slack app, and wires them."""
