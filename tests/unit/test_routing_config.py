"""The router's configuration files: the seed loads, every rule refuses bad input by name, schemas are current."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from workrouter.config.catalog import load_catalog
from workrouter.config.files import ConfigError
from workrouter.config.routing import RoutingConfig, load_routing_config, schemas
from workrouter.config.routing_agents import AgentConfig
from workrouter.config.routing_queues import QueueConfig, TierConfig
from workrouter.config.rules_file import read_rule_file
from workrouter.domain.routing.model import AgentProfile, Mode, QueuePolicy, Strategy, Tier, can_serve, needs

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "deploy" / "config"
DOCS = ROOT / "docs"
REGENERATE = "run `.venv/bin/workrouter config schemas docs`"

Doc = dict[str, Any]
Mutation = Callable[[Doc], None]


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def valid_docs() -> dict[str, Doc]:
    """A small valid configuration: two domains, two agents, a few codes."""
    return {
        "queues.yaml": {
            "queues": [
                {
                    "name": "finance",
                    "domain": "backoffice",
                    "tiers": [{"min_level": 70}, {"min_level": 40, "after_seconds": 60}],
                },
                {"name": "general", "domain": "backoffice"},
                {"name": "sales", "domain": "sales", "strategy": "balanced_effort"},
            ]
        },
        "agents.yaml": {
            "agents": [
                {
                    "id": "ann",
                    "display_name": "Ann",
                    "skills": {"finance": 80, "lang:fr": 60},
                    "queues": ["finance", "general"],
                    "capacity": {"workitem": 2, "voice": 1},
                    "exclusive_channels": ["voice"],
                    "token_sha256": sha("ann-token"),
                },
                {"id": "bob", "display_name": "Bob", "queues": ["sales"], "token_sha256": sha("bob-token")},
            ]
        },
        "codes.yaml": {
            "not_ready_reasons": [{"id": "lunch", "label": "Lunch"}, {"id": "rona", "label": "RONA", "system": True}],
            "wrap_up_codes": [{"id": "processed", "label": "Processed"}, {"id": "transferred", "label": "Transferred"}],
        },
    }


def write(config_dir: Path, docs: dict[str, Doc]) -> Path:
    for name, doc in docs.items():
        (config_dir / name).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return config_dir


def _parent(doc: Doc, path: str) -> tuple[Any, str | int]:
    *parents, last = (int(p) if p.isdigit() else p for p in path.split("."))
    node: Any = doc
    for part in parents:
        node = node[part]
    return node, last


def put(path: str, value: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        node, key = _parent(doc, path)
        node[key] = value

    return mutate


def drop(path: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        node, key = _parent(doc, path)
        del node[key]

    return mutate


FIN, ANN = "queues[0]", "agents[0]"
BAD = [
    # queues.yaml
    ("queues.yaml", put("queues.0.strategy", "fastest"), f"{FIN}.strategy (queue 'finance')", "'longest_idle'"),
    ("queues.yaml", put("queues.0.tiers.0.after_seconds", 10), f"{FIN}.tiers[0].after_seconds", "start at 0 seconds"),
    ("queues.yaml", put("queues.0.tiers.1.after_seconds", 0), f"{FIN}.tiers[1].after_seconds", "strictly ascending"),
    ("queues.yaml", put("queues.0.tiers.1.after_seconds", "1m1h"), f"{FIN}.tiers[1].after_seconds", "bad duration"),
    ("queues.yaml", put("queues.0.tiers.1.min_level", 80), f"{FIN}.tiers[1].min_level", "must not increase"),
    ("queues.yaml", put("queues.0.tiers.0.min_level", 101), f"{FIN}.tiers[0].min_level", "less than or equal to 100"),
    ("queues.yaml", put("queues.0.tiers.0.min_level", "70"), f"{FIN}.tiers[0].min_level", "valid integer"),
    ("queues.yaml", put("queues.0.tiers", []), f"{FIN}.tiers", "at least 1 item"),
    (
        "queues.yaml",
        put("queues.0.tiers", [{"min_level": 50 - i, "after_seconds": i} for i in range(6)]),
        f"{FIN}.tiers",
        "at most 5 items",
    ),
    ("queues.yaml", put("queues.0.mode", "auto"), f"{FIN}.mode", "'push' or 'pull'"),
    ("queues.yaml", put("queues.0.offer_timeout_seconds", 0), f"{FIN}.offer_timeout_seconds", "greater than 0"),
    ("queues.yaml", put("queues.0.offer_timeout_seconds", "0s"), f"{FIN}.offer_timeout_seconds", "greater than 0"),
    ("queues.yaml", put("queues.0.offer_timeout_seconds", "5x"), f"{FIN}.offer_timeout_seconds", "bad duration '5x'"),
    ("queues.yaml", put("queues.0.offer_timeout_seconds", True), f"{FIN}.offer_timeout_seconds", "a duration is"),
    ("queues.yaml", put("queues.0.preferred_seconds", -1), f"{FIN}.preferred_seconds", "greater than or equal to 0"),
    ("queues.yaml", put("queues.0.after_work_seconds", float("nan")), f"{FIN}.after_work_seconds", "finite number"),
    ("queues.yaml", put("queues.0.claim_timeout_seconds", 0), f"{FIN}.claim_timeout_seconds", "greater than 0"),
    ("queues.yaml", put("queues.0.effort_window_seconds", 0), f"{FIN}.effort_window_seconds", "greater than 0"),
    ("queues.yaml", put("queues.0.service_levels", []), f"{FIN}.service_levels", "at least 1 item"),
    ("queues.yaml", put("queues.0.service_levels", list(range(1, 14))), f"{FIN}.service_levels", "at most 12 items"),
    ("queues.yaml", put("queues.0.service_levels", [60, 20]), f"{FIN}.service_levels[1]", "must ascend"),
    ("queues.yaml", put("queues.0.service_levels", ["1m", "1m"]), f"{FIN}.service_levels[1]", "60 is not above 60"),
    ("queues.yaml", put("queues.0.service_levels", [0]), f"{FIN}.service_levels[0]", "greater than 0"),
    ("queues.yaml", put("queues.0.service_levels", [1.5]), f"{FIN}.service_levels[0]", "fractional part"),
    ("queues.yaml", put("queues.0.priority", 5), f"{FIN}.priority (queue 'finance')", "Extra inputs"),
    ("queues.yaml", put("queues.0.name", "Finance"), f"{FIN}.name (queue 'Finance')", "should match pattern"),
    ("queues.yaml", put("queues.0.channel", "Voice"), f"{FIN}.channel", "should match pattern"),
    ("queues.yaml", drop("queues.0.domain"), f"{FIN}.domain", "Field required"),
    ("queues.yaml", put("queues.1.name", "finance"), "queues[1].name (queue 'finance')", "twice (first at [0])"),
    ("queues.yaml", put("queues", []), "queues", "at least 1 item"),
    ("queues.yaml", put("routing", {}), "routing", "Extra inputs"),
    # agents.yaml
    ("agents.yaml", put("agents.0.id", "Ann"), f"{ANN}.id (agent 'Ann')", "should match pattern"),
    ("agents.yaml", put("agents.0.display_name", ""), f"{ANN}.display_name", "at least 1 character"),
    ("agents.yaml", put("agents.0.skills.finance", 101), f"{ANN}.skills.finance (agent 'ann')", "less than or equal"),
    ("agents.yaml", put("agents.0.skills.finance", True), f"{ANN}.skills.finance", "valid integer"),
    ("agents.yaml", put("agents.0.skills.Finance", 50), f"{ANN}.skills.Finance (agent 'ann')", "key: String should"),
    ("agents.yaml", put("agents.0.queues.0", "fin"), f"{ANN}.queues[0] (agent 'ann')", "unknown queue 'fin'; known: "),
    ("agents.yaml", put("agents.0.queues.1", "finance"), f"{ANN}.queues[1]", "queue 'finance' is listed twice"),
    ("agents.yaml", put("agents.0.queues", []), f"{ANN}.queues", "at least 1 item"),
    (
        "agents.yaml",
        put("agents.0.capacity", {"voice": 1}),
        f"{ANN}.queues[0]",
        "queue 'finance' is on channel 'workitem', where the agent has no capacity",
    ),
    ("agents.yaml", put("agents.0.capacity.workitem", 0), f"{ANN}.capacity.workitem", "greater than or equal to 1"),
    ("agents.yaml", put("agents.0.capacity", {}), f"{ANN}.capacity", "at least 1 item"),
    ("agents.yaml", put("agents.0.exclusive_channels", ["chat"]), f"{ANN}.exclusive_channels[0]", "'chat' has no"),
    ("agents.yaml", put("agents.0.exclusive_channels", ["voice"] * 2), f"{ANN}.exclusive_channels[1]", "listed twice"),
    ("agents.yaml", put("agents.0.token_sha256", "ann-token"), f"{ANN}.token_sha256", "should match pattern"),
    ("agents.yaml", put("agents.0.token", "ann-token"), f"{ANN}.token (agent 'ann')", "Extra inputs"),
    ("agents.yaml", put("agents.0.auto_answer", "yes"), f"{ANN}.auto_answer", "valid boolean"),
    ("agents.yaml", put("agents.1.id", "ann"), "agents[1].id (agent 'ann')", "'ann' is listed twice (first at [0])"),
    ("agents.yaml", put("agents.1.token_sha256", sha("ann-token")), "agents[1].token_sha256 (agent 'bob')", "twice"),
    # codes.yaml
    ("codes.yaml", put("not_ready_reasons.1.id", "ronaa"), "not_ready_reasons", "no 'rona' reason"),
    ("codes.yaml", put("not_ready_reasons.1.label", "Lunch"), "not_ready_reasons[1].label (reason 'rona')", "twice"),
    ("codes.yaml", put("not_ready_reasons.0.system", "true"), "not_ready_reasons[0].system", "valid boolean"),
    ("codes.yaml", put("wrap_up_codes.1.id", "processed"), "wrap_up_codes[1].id (code 'processed')", "listed twice"),
    ("codes.yaml", put("wrap_up_codes.0.id", "x" * 65), "wrap_up_codes[0].id", "should match pattern"),
    ("codes.yaml", put("wrap_up_codes.0.label", ""), "wrap_up_codes[0].label", "at least 1 character"),
    ("codes.yaml", put("wrap_up_codes", []), "wrap_up_codes", "at least 1 item"),
]


@pytest.fixture(scope="module")
def seed() -> RoutingConfig:
    return load_routing_config(SEED)


def test_the_small_config_is_valid(tmp_path: Path) -> None:
    config = load_routing_config(write(tmp_path, valid_docs()))
    assert config.domains() == {"backoffice": ("finance", "general"), "sales": ("sales",)}
    assert config.agent_tokens == {"ann": sha("ann-token"), "bob": sha("bob-token")}
    assert config.agent_for_token("bob-token") == "bob"
    assert config.agent_for_token("bob") is None


@pytest.mark.parametrize(("name", "mutate", "where", "what"), BAD)
def test_bad_input_is_refused_by_name(tmp_path: Path, name: str, mutate: Mutation, where: str, what: str) -> None:
    docs = valid_docs()
    mutate(docs[name])
    with pytest.raises(ConfigError) as caught:
        load_routing_config(write(tmp_path, docs))
    message = str(caught.value)
    assert f"{tmp_path / name}: {where}" in message
    assert what in message


def test_every_problem_is_reported_one_per_line(tmp_path: Path) -> None:
    docs = valid_docs()
    docs["agents.yaml"]["agents"][0]["queues"] = ["fin", "general"]
    docs["agents.yaml"]["agents"][1]["queues"] = ["sale"]
    with pytest.raises(ConfigError) as caught:
        load_routing_config(write(tmp_path, docs))
    known = "known: finance, general, sales"
    assert str(caught.value).splitlines() == [
        f"{tmp_path}/agents.yaml: agents[0].queues[0] (agent 'ann'): unknown queue 'fin'; {known}",
        f"{tmp_path}/agents.yaml: agents[1].queues[0] (agent 'bob'): unknown queue 'sale'; {known}",
    ]


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (None, "agents.yaml: file not found"),
        ("", "agents.yaml: the file is empty"),
        ("agents:\n  - {id: ann, id: bob}\n", "duplicate key 'id'"),
        ("agents: [\n", "agents.yaml: YAML error at line"),
        ("agents:\n  - {id: ann, display_name: Ann, queues: [general], auto_answer: no}\n", "auto_answer"),
    ],
)
def test_unreadable_files_are_refused(tmp_path: Path, text: str | None, what: str) -> None:
    write(tmp_path, valid_docs())
    agents = tmp_path / "agents.yaml"
    if text is None:
        agents.unlink()
    else:
        agents.write_text(text)
    with pytest.raises(ConfigError, match=r"agents\.yaml") as caught:
        load_routing_config(tmp_path)
    assert what in str(caught.value)


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1d", 86400),
        ("0s", 0),
        ("0m0s", 0),
        (45, 45),
        (2.5, 2.5),
    ],
)
def test_durations_are_seconds_or_text(written: str | float, seconds: float) -> None:
    assert TierConfig(min_level=0, after_seconds=written).after_seconds == seconds
    assert QueueConfig(name="q", domain="d", preferred_seconds=written).to_policy().preferred_seconds == seconds


def test_service_levels_take_text_too() -> None:
    queue = QueueConfig(name="q", domain="d", service_levels=[20, "1m", "1h"])
    assert queue.to_policy().service_levels == (20, 60, 3600)


def test_defaults_are_the_domain_defaults() -> None:
    assert QueueConfig(name="q", domain="d").to_policy() == QueuePolicy(name="q", domain="d")
    agent = AgentConfig(id="a", display_name="A", queues=["q"], token_sha256=sha("t"))
    assert agent.to_profile() == AgentProfile(agent_id="a", queues=frozenset({"q"}))


def test_to_policy_carries_every_field() -> None:
    queue = QueueConfig.model_validate(
        {
            "name": "claims",
            "domain": "backoffice",
            "channel": "email",
            "strategy": "most_skilled",
            "tiers": [{"min_level": 70, "after_seconds": 0}, {"min_level": 30, "after_seconds": "10m"}],
            "mode": "pull",
            "offer_timeout_seconds": "45s",
            "preferred_seconds": 90,
            "after_work_seconds": "2m",
            "claim_timeout_seconds": "15m",
            "service_levels": [60, 300],
            "effort_window_seconds": "4h",
        }
    )
    assert queue.to_policy() == QueuePolicy(
        name="claims",
        domain="backoffice",
        channel="email",
        strategy=Strategy.MOST_SKILLED,
        tiers=(Tier(70, 0.0), Tier(30, 600.0)),
        mode=Mode.PULL,
        offer_timeout_seconds=45.0,
        preferred_seconds=90.0,
        after_work_seconds=120.0,
        claim_timeout_seconds=900.0,
        service_levels=(60, 300),
        effort_window_seconds=14400.0,
    )


def test_to_profile_carries_every_field() -> None:
    agent = AgentConfig.model_validate(valid_docs()["agents.yaml"]["agents"][0] | {"auto_answer": True})
    assert agent.to_profile() == AgentProfile(
        agent_id="ann",
        skills={"finance": 80, "lang:fr": 60},
        queues=frozenset({"finance", "general"}),
        capacity={"workitem": 2, "voice": 1},
        exclusive_channels=frozenset({"voice"}),
        auto_answer=True,
    )


def test_seed_loads(seed: RoutingConfig) -> None:
    assert seed.domains() == {
        "backoffice": ("finance", "credit", "claims", "general", "supervisor"),
        "support": ("technical", "experts"),
        "sales": ("sales",),
    }
    assert seed.queues["finance"].tiers == (Tier(70, 0.0), Tier(40, 60.0), Tier(10, 300.0))
    assert seed.queues["claims"].mode is Mode.PULL
    assert seed.queues["technical"].strategy is Strategy.MOST_SKILLED
    assert seed.queues["sales"].strategy is Strategy.BALANCED_EFFORT
    assert len(seed.agents) == 13
    assert seed.supervisors == {"sam"}
    assert seed.not_ready_reasons["rona"].system
    assert {"processed", "transferred", "not_right_skill"} <= set(seed.wrap_up_codes)


def test_seed_demo_tokens_are_id_dash_demo_token(seed: RoutingConfig) -> None:
    assert "<id>-demo-token" in (SEED / "agents.yaml").read_text()
    for agent_id in seed.agents:
        assert seed.agent_for_token(f"{agent_id}-demo-token") == agent_id


def test_supervisors_and_domains_of_agents(tmp_path: Path) -> None:
    docs = valid_docs()
    docs["agents.yaml"]["agents"][1]["supervisor"] = True
    config = load_routing_config(write(tmp_path, docs))
    assert config.supervisors == {"bob"}
    assert (config.domain_of("ann"), config.domain_of("bob"), config.domain_of("nobody")) == (
        "backoffice",
        "sales",
        None,
    )
    assert (config.domains_of("ann"), config.domains_of("nobody")) == (("backoffice",), ())


def test_a_blended_agent_works_in_every_domain_of_its_queues(tmp_path: Path) -> None:
    """Decisions D21: an agent may serve queues of several routing domains (blended); each domain's router
    counts it as a member and they share its capacity through Redis."""
    docs = valid_docs()
    ann = docs["agents.yaml"]["agents"][0]
    ann["queues"] = [*ann["queues"], "sales"]
    ann["capacity"] = {**ann.get("capacity", {}), "workitem": 2}
    config = load_routing_config(write(tmp_path, docs))
    assert config.domains_of("ann") == ("backoffice", "sales")
    assert config.domain_of("ann") == "backoffice"


def test_supervisor_is_a_strict_boolean(tmp_path: Path) -> None:
    docs = valid_docs()
    docs["agents.yaml"]["agents"][1]["supervisor"] = "yes"
    with pytest.raises(ConfigError, match=r"agents\[1\]\.supervisor \(agent 'bob'\): Input should be a valid boolean"):
        load_routing_config(write(tmp_path, docs))


def test_seed_queues_are_the_prioritisers(seed: RoutingConfig) -> None:
    catalog = load_catalog(SEED)
    assert {q.name: q.domain for q in catalog.queues.values()} == {q.name: q.domain for q in seed.queues.values()}


def test_seed_agents_can_serve_every_rule_at_the_last_tier(seed: RoutingConfig) -> None:
    rules = read_rule_file((SEED / "rules.yaml").read_text())["rules"]
    for rule in (r for r in rules if "queue" in r["set"]):
        queue = seed.queues[rule["set"]["queue"]]
        wanted = needs({s["skill"]: s.get("min_level", 0) for s in rule["set"].get("skills", [])})
        serving = [a for a in seed.agents.values() if queue.name in a.queues and can_serve(a, wanted, queue.tiers[-1])]
        assert serving, f"no seed agent can serve rule {rule['id']!r} in queue {queue.name!r}"


@pytest.mark.parametrize("name", ["queues", "agents", "codes"])
def test_seed_files_satisfy_the_published_schemas(name: str) -> None:
    schema = json.loads(schemas()[f"{name}.schema.json"])
    doc = read_rule_file((SEED / f"{name}.yaml").read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(doc)]
    assert errors == []


@pytest.mark.parametrize("name", sorted(schemas()))
def test_checked_in_schemas_match_the_code(name: str) -> None:
    path = DOCS / name
    assert path.exists(), f"docs/{name} is missing: {REGENERATE}"
    assert path.read_text() == schemas()[name], f"docs/{name} is stale: {REGENERATE}"
