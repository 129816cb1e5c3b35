"""Grafana provisioning documents: the datasources and the provider that loads the dashboard folder."""

from __future__ import annotations

from typing import Any

from workrouter.grafana.panels import POSTGRES, PROMETHEUS

Json = dict[str, Any]

DASHBOARDS_PATH = "/var/lib/grafana/dashboards/workrouter"  # where deploy/grafana/dashboards is mounted
PROMETHEUS_URL = "http://prometheus:9090"


def prometheus_datasource(url: str = PROMETHEUS_URL) -> Json:
    """datasources/prometheus.yaml: the Prometheus that scrapes every service's /metrics."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": PROMETHEUS.uid,
                "type": PROMETHEUS.type_val,
                "access": "proxy",
                "url": url,
                "isDefault": True,
                "editable": False,
                "jsonData": {"timeInterval": "15s", "httpMethod": "POST"},
            }
        ],
    }


def postgres_datasource() -> Json:
    """datasources/postgres.yaml: the reporting database (event log, task state, views), read-only use.

    Host, database, user and password come from the environment Grafana runs in
    (WR_GRAFANA_PG_HOST etc., expanded by Grafana's provisioning), so no secret is committed.
    """
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "workrouter event log",
                "uid": POSTGRES.uid,
                "type": POSTGRES.type_val,
                "access": "proxy",
                "url": "${WR_GRAFANA_PG_HOST}",
                "user": "${WR_GRAFANA_PG_USER}",
                "editable": False,
                "jsonData": {
                    "database": "${WR_GRAFANA_PG_DATABASE}",
                    "sslmode": "disable",
                    "postgresVersion": 1500,
                    "timescaledb": False,
                },
                "secureJsonData": {"password": "${WR_GRAFANA_PG_PASSWORD}"},
            }
        ],
    }


def dashboard_provider(path: str = DASHBOARDS_PATH) -> Json:
    """dashboards/workrouter.yaml: load every JSON file of `path` into the folder `workrouter`."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "workrouter",
                "orgId": 1,
                "folder": "workrouter",
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": path, "foldersFromFilesStructure": False},
            }
        ],
    }
