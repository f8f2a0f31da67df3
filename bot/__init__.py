"""cxbot's shell: channel adapters (Telegram, Slack), the HTTP app and the CLI."""
