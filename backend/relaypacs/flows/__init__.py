"""App-level hand-offs between domains. See docs/architecture.md."""
