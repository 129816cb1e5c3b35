"""`workrouter demo`: simulated source systems and agents driving the embedded workrouter, with a live view."""
