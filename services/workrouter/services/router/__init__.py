"""The router service: owns routing domains, offers tasks to agents, keeps Redis and the engine in step."""
