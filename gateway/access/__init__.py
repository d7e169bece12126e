"""Who may ask, and how often: client authentication and per-client rate limits (HTTP layer)."""
