"""Stand-ins for everything Scout talks to (Anthropic, Slack, the CRMs, an HTTP server), as bolt keeps tests/mock_web_api_server/."""
