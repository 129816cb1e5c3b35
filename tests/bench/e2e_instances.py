"""Several processes of a service in the end-to-end benchmark (pure): their names, and sums over them.

With `--instances N` every service that consumes Kafka runs as N processes sharing one consumer group, so
Kafka splits the partitions between them; the routers split the routing domains that way (a router owns
the domains of the `wr.routing` partitions it is assigned). The api consumes nothing and gets no traffic
from the benchmark, so it stays one process. Figures are summed per service; per-instance figures keep
the instance's name (`router-2`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from tests.bench.e2e_metrics import Scrape

SERVICES = ("capture", "prioritiser", "router", "escalation", "reporting", "notifier", "api")
CONSUMERS = ("capture", "prioritiser", "router", "escalation", "reporting", "notifier")  # the api consumes nothing
OWNED = "workrouter_router_domain_owned"
LAG = "workrouter_consumer_lag"


def instance_names(service: str, instances: int) -> list[str]:
    """The processes of a service: its own name when it runs once (so one instance prints as before),
    `<service>-1` .. `<service>-N` otherwise; the api always runs once."""
    if instances < 1:
        raise ValueError(f"a service runs at least once, not {instances} times")
    if instances == 1 or service not in CONSUMERS:
        return [service]
    return [f"{service}-{n}" for n in range(1, instances + 1)]


def all_instances(instances: int) -> list[str]:
    """Every process of the stack, service by service."""
    return [name for service in SERVICES for name in instance_names(service, instances)]


def service_of(instance: str) -> str:
    """`router-2` -> `router`; a name that is not an instance of a service (`kafka`, `bench`) stays as it is."""
    head, _, tail = instance.rpartition("-")
    return head if head in SERVICES and tail.isdigit() else instance


def by_service(values: Mapping[str, float]) -> dict[str, float]:
    """Per-instance figures (cores, ms per task, messages/s) summed per service; other names kept."""
    out: dict[str, float] = defaultdict(float)
    for name, value in values.items():
        out[service_of(name)] += value
    return dict(out)


def merged(scrapes: Iterable[Scrape]) -> Scrape:
    """One Scrape holding every sample of `scrapes`: totals, per-label sums and histogram buckets then add up
    over the instances (each router reports only the domains it owns, each consumer only its partitions)."""
    out = Scrape()
    for scrape in scrapes:
        for name, samples in scrape.samples.items():
            out.samples[name].extend(samples)
    return out


def per_service(scrapes: Mapping[str, Scrape]) -> dict[str, Scrape]:
    """Scrapes of instances merged per service."""
    groups: dict[str, list[Scrape]] = defaultdict(list)
    for instance, scrape in scrapes.items():
        groups[service_of(instance)].append(scrape)
    return {service: merged(group) for service, group in groups.items()}


def _assigned(scrape: Scrape) -> dict[str, set[int]]:
    """Topic -> the partitions this process reports lag for, i.e. is assigned now (a service reads each topic
    in one group)."""
    out: dict[str, set[int]] = defaultdict(set)
    for labels, _ in scrape.samples.get(LAG, []):
        out[labels["topic"]].add(int(labels["partition"]))
    return out


def assignment_problems(scrapes: Mapping[str, Scrape], groups: Mapping[str, Mapping[str, int]]) -> list[str]:
    """What keeps the consumer groups from being settled, [] when they are: every partition of each topic a
    service reads held by exactly one of its instances, and every instance holding some of each such topic
    (when the topic has a partition for each). `groups`: service -> {topic: partitions} it reads in its groups.

    Read from `workrouter_consumer_lag`, which a process reports for the partitions it is assigned right now.
    """
    problems: list[str] = []
    held = {name: _assigned(scrape) for name, scrape in scrapes.items()}
    for service, topics in sorted(groups.items()):
        members = sorted(name for name in scrapes if service_of(name) == service)
        for topic, partitions in sorted(topics.items()):
            owners: dict[int, list[str]] = defaultdict(list)
            for name in members:
                mine = held[name].get(topic, set())
                for partition in mine:
                    owners[partition].append(name)
                if not mine and partitions >= len(members):
                    problems.append(f"{name} holds no partition of {topic}")
            missing = sorted(set(range(partitions)) - set(owners))
            if missing:
                problems.append(f"{service}: {topic} partitions {missing} held by no instance")
            twice = {p: who for p, who in sorted(owners.items()) if len(who) > 1}
            if twice:
                problems.append(f"{service}: {topic} partitions held twice: {twice}")
    return problems


def ownership_problems(routers: Mapping[str, Scrape], domains: Iterable[str]) -> list[str]:
    """Every routing domain owned by exactly one router, and (with several routers) every router owning some,
    from `workrouter_router_domain_owned`; [] when so."""
    owners: dict[str, list[str]] = defaultdict(list)
    for name, scrape in sorted(routers.items()):
        for labels, value in scrape.samples.get(OWNED, []):
            if value:
                owners[labels["domain"]].append(name)
    problems = [f"domain {d} owned by {owners[d] or 'no router'}" for d in sorted(domains) if len(owners[d]) != 1]
    if len(routers) > 1:
        idle = sorted(name for name in routers if not any(name in who for who in owners.values()))
        problems += [f"{name} owns no domain" for name in idle]
    return problems


def scale_line(sustained: Mapping[int, float]) -> str:
    """The last line of a comparison: each instance count's ceiling (tasks/s), and the change from the first
    count to the last in per cent (`na` when the first sustained nothing)."""
    counts = list(sustained)
    parts = " ".join(f"instances={n} sustained={sustained[n]:.1f}" for n in counts)
    first, last = sustained[counts[0]], sustained[counts[-1]]
    change = "na" if first <= 0 else f"{100 * (last - first) / first:+.1f} %"
    return f"bench scale: {parts} change={change}"
