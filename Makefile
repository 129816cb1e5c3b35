# Everything a person does with workrouter has a target here; `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# $(or a,b) splits its arguments at commas, so a comma-separated default is written with $(comma)
comma := ,

.PHONY: help install lock check-env infra-install infra-up infra-down infra-status test test-e2e test-unit test-integration config-check lint format asyncapi grafana grafana-check prometheus-up prometheus-down run up screenshots bench bench-scale bench-memory bench-bus bench-memory-bus bench-capture bench-rules bench-router bench-redis bench-timers bench-reprioritise bench-million bench-reports bench-tasks bench-escalation bench-notifier report callbacks-dead callbacks-replay reclassify service clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install: ## create .venv equal to uv.lock (bootstraps the pinned uv with pip; refuses a stale lock)
	@PYTHON=$(PYTHON) bash deploy/local/python-env.sh sync

lock: ## re-resolve uv.lock within pyproject.toml's ranges (UPGRADE=1: newest allowed; PACKAGE=<name>: that one), then run make test
	@PYTHON=$(PYTHON) bash deploy/local/python-env.sh lock $(if $(UPGRADE),--upgrade) $(if $(PACKAGE),--upgrade-package $(PACKAGE))

check-env: ## check that .venv holds exactly what uv.lock lists, package for package
	@PYTHON=$(PYTHON) bash deploy/local/python-env.sh check

infra-install: ## install the OS packages the local infrastructure needs (apt; idempotent)
	@bash deploy/local/install-system.sh

infra-up: infra-install ## start Kafka, Redis and PostgreSQL on 127.0.0.1 (idempotent)
	@bash deploy/local/infra.sh up

infra-down: ## stop the local infrastructure (and the local Prometheus, if it runs)
	-@bash deploy/local/prometheus.sh down
	@bash deploy/local/infra.sh down

infra-status: ## show what runs and where it listens
	-@bash deploy/local/infra.sh status

test: install infra-up ## run all tests: unit, then integration on real Kafka/Redis/PostgreSQL, the end-to-end test over Kafka among them (about 15 min); WR_E2E_KAFKA=0 leaves that one out
	$(BIN)/pytest $(PYTEST_ARGS)

test-e2e: install infra-up ## only the end-to-end test over Kafka: seven service processes, 3,500 tasks, each service killed and restarted (5-6 min)
	$(BIN)/pytest -s tests/integration/test_e2e_kafka.py $(PYTEST_ARGS)

test-unit: install ## run the unit tests only (no network, seconds)
	$(BIN)/pytest tests/unit -m "not slow" $(PYTEST_ARGS)

test-integration: install infra-up ## run the integration tests only
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

screenshots: install ## start workrouter up, sign in as a demo agent in chromium and save a PNG of each UI page into docs/screenshots/
	$(BIN)/python -m tests.support.screenshots

config-check: install ## DIR=<folder> (default deploy/config): validate every configuration file together, as the services will
	$(BIN)/workrouter config check $(or $(DIR),deploy/config)

lint: install ## ruff check, ruff format --check, mypy --strict, import contracts, config and dashboards (grafana-check)
	$(BIN)/ruff check libs services tests
	$(BIN)/ruff format --check libs services tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/workrouter config check deploy/config
	$(BIN)/python -m workrouter.grafana.generate --check
	@$(MAKE) --no-print-directory grafana-check

format: install ## fix what ruff can fix and format the code
	$(BIN)/ruff check --fix libs services tests
	$(BIN)/ruff format libs services tests

asyncapi: install ## regenerate docs/asyncapi.yaml from the contracts
	$(BIN)/workrouter asyncapi --output docs/asyncapi.yaml

grafana: install ## regenerate deploy/grafana (datasources and dashboards) from services/workrouter/grafana
	$(BIN)/python -m workrouter.grafana.generate

grafana-check: install ## the dashboards against Grafana 11.6's schema (strict decode + Validate, Go SDK) and their PromQL against promtool
	@bash deploy/grafana/check/check.sh
	$(BIN)/python -m workrouter.grafana.promql_check

prometheus-up: infra-install ## start the local Prometheus on 127.0.0.1:19090, scraping the services' metrics ports (idempotent)
	@bash deploy/local/prometheus.sh up

prometheus-down: ## stop the local Prometheus
	@bash deploy/local/prometheus.sh down

DATA ?= .local/embedded
DEMO_SECONDS ?= 180
run: install ## the demo: every service in one process (embedded PostgreSQL and Redis in $(DATA)), simulated sources and agents, live view, report
	$(BIN)/workrouter up --demo --data $(DATA) --seconds $(DEMO_SECONDS)

up: install ## run workrouter in one process without the demo (api :8080, reports :8090, metrics :9100) until Ctrl-C; config in .local/config with its own credentials
	$(BIN)/workrouter credentials init .local/config
	$(BIN)/workrouter up --data $(DATA) --config .local/config

bench: install infra-up ## end to end: all seven services as processes on real Kafka/Redis/PostgreSQL; rates rise until one is not sustained (about a minute each); tasks/s, capture->offer latency and CPU per task, against raw Kafka; ends with a "bench summary:" line
	$(BIN)/python -m tests.bench.bench_e2e

bench-scale: install infra-up ## the end-to-end ramp twice, each consuming service as 1 then 2 processes sharing its consumer group (fine ladder, 10 % steps; INSTANCES=1,2); both ceilings and the change; ends with a "bench scale:" line
	$(BIN)/python -m tests.bench.bench_e2e --compare-instances $(or $(INSTANCES),1$(comma)2) --ladder fine

bench-memory: install infra-up ## the memory run: MINUTES (10) at RATE (150) tasks/s, every process's RSS each minute, start/end/second-half change; ends with a "bench memory:" line
	$(BIN)/python -m tests.bench.bench_e2e --soak $(or $(MINUTES),10) --rate $(or $(RATE),150)

bench-bus: install infra-up ## benchmark the Kafka bus against raw aiokafka (prints msg/s)
	$(BIN)/python -m tests.bench.bench_bus --messages 20000

bench-memory-bus: install ## what the journal costs the in-process bus's publish (no servers needed; prints publish/s and latency)
	$(BIN)/python -m tests.bench.bench_memory_bus --messages 20000

bench-capture: install infra-up ## capture + classify throughput through real Kafka and PostgreSQL (prints tasks/s)
	$(BIN)/python -m tests.bench.bench_capture --tasks 5000

bench-rules: install ## rule evaluation cost per task for 10 and 1,000 rules (prints microseconds)
	$(BIN)/python -m tests.bench.bench_rules

bench-router: install ## matching engine: decisions/s and memory per queued task at 1k..1M queued (prints a table)
	$(BIN)/python -m tests.bench.bench_router_engine

bench-redis: install infra-up ## atomic capacity reservations in Redis (Lua): pairs/s and latency
	$(BIN)/python -m tests.bench.bench_redis_reserve

bench-timers: install infra-up ## durable timers in PostgreSQL: 1M pending, fire lateness p50/p99, recovery after restart
	$(BIN)/python -m tests.bench.bench_timers

bench-reports: install infra-up ## event log: ingest events/s and every report's time at 1M and 10M events (about 40 minutes)
	$(BIN)/python -m tests.bench.bench_event_log --sizes $(or $(SIZES),1000000$(comma)10000000)

bench-tasks: install infra-up ## the reports' task list, a task's detail and its history over a log of about 1M events (p50/p99 ms, plans)
	$(BIN)/python -m tests.bench.bench_task_reads

bench-escalation: install infra-up ## escalation's consumption of wr.tasks: events/s one per transaction and a poll per transaction
	$(BIN)/python -m tests.bench.bench_escalation_ingest

bench-notifier: install infra-up ## callbacks: handler ingest (events/s) and delivery to local HTTP servers (callbacks/s)
	$(BIN)/python -m tests.bench.bench_notifier --tasks 5000

bench-reprioritise: install ## one reprioritisation interval with 1M queued: band timers vs rescoring every task (prints a table)
	$(BIN)/python -m tests.bench.bench_reprioritise

bench-million: install infra-up ## workbin page, get-next, personal workbin and explain through the api with 10k and 1M waiting (p50/p99 ms, CPU per request), the old full scan at 10k/100k, a takeover's reconcile (about 20 minutes, ~1 GB in Redis)
	$(BIN)/python -m tests.bench.bench_million --sizes $(or $(SIZES),10000$(comma)1000000) --old-sizes 10000,100000 --reconcile

reclassify: install ## TASK=<id> [QUEUE=<q>]: run a task through the rules again (releases an error_held task)
	@test -n "$(TASK)" || { echo "usage: make reclassify TASK=<task id> [QUEUE=<queue>]"; exit 2; }
	$(BIN)/workrouter reclassify "$(TASK)" $(if $(QUEUE),--queue "$(QUEUE)")

service: install infra-up ## NAME=capture|prioritiser|router|escalation|reporting|notifier|api: run one service over the local Kafka, Redis and PostgreSQL
	@test -n "$(NAME)" || { echo "usage: make service NAME=capture|prioritiser|router|escalation|reporting|notifier|api"; exit 2; }
	@eval "$$(bash deploy/local/infra.sh env)" && export WR_BROKER_URL=kafka://$$WR_KAFKA_BOOTSTRAP && \
		exec $(BIN)/workrouter service "$(NAME)"

report: install infra-up ## NAME=<report> FROM=<time> TO=<time> [ARGS=...]: print a historical report from the local event log
	@test -n "$(NAME)" -a -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make report NAME=queue-summary FROM=2026-11-02T00:00:00Z TO=2026-11-03T00:00:00Z [ARGS='--interval hour --format csv']"; \
		echo "reports: service-level queue-summary queue-detail wrap-up agent-status agent-stats tasks fairness"; exit 2; }
	@eval "$$(bash deploy/local/infra.sh env)" && exec $(BIN)/workrouter report "$(NAME)" --from "$(FROM)" --to "$(TO)" $(ARGS)

callbacks-dead: install ## [SOURCE=<source>]: list callbacks to source systems that gave up (dead letters)
	@eval "$$(bash deploy/local/infra.sh env)" && $(BIN)/workrouter callbacks dead $(if $(SOURCE),--source "$(SOURCE)")

callbacks-replay: install ## SOURCE=<source> | IDS="<id> ..." | ALL=1: send dead callbacks again
	@eval "$$(bash deploy/local/infra.sh env)" && $(BIN)/workrouter callbacks replay $(if $(SOURCE),--source "$(SOURCE)") $(IDS) $(if $(ALL),--all)

clean: ## remove caches (keeps .venv and .local data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
