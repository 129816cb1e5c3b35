"""Grafana dashboards and provisioning for workrouter, built from code (python -m workrouter.grafana.generate)."""
