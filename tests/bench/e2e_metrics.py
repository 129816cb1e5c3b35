"""Reading the services' /metrics: consumer lag, the router's live gauges and its capture→offer histogram."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]
CAPTURE_TO_OFFER = "workrouter_capture_to_offer_seconds"


@dataclass
class Scrape:
    """Samples of one scrape: sample name -> [(labels, value)]."""

    samples: dict[str, list[tuple[Labels, float]]] = field(default_factory=lambda: defaultdict(list))
    answered: bool = True  # False: the endpoint did not answer (a busy process past the timeout), no samples

    def total(self, name: str, **match: str) -> float:
        """Sum of the samples of `name` whose labels include `match`."""
        return sum(v for labels, v in self.samples.get(name, []) if all(labels.get(k) == x for k, x in match.items()))

    def by(self, name: str, label: str) -> dict[str, float]:
        """Sum of the samples of `name` per value of `label`."""
        out: dict[str, float] = defaultdict(float)
        for labels, value in self.samples.get(name, []):
            out[labels.get(label, "")] += value
        return dict(out)

    def buckets(self, histogram: str) -> dict[float, float]:
        """Cumulative bucket counts of a histogram summed over its other labels: upper bound -> count."""
        out: dict[float, float] = defaultdict(float)
        for labels, value in self.samples.get(histogram + "_bucket", []):
            out[float(labels["le"])] += value
        return dict(out)


async def scrape(http: httpx.AsyncClient, url: str) -> Scrape:
    """One scrape of a /metrics endpoint (an empty Scrape when it does not answer)."""
    result = Scrape()
    try:
        response = await http.get(url)
    except httpx.TransportError:
        return Scrape(answered=False)
    if response.status_code != 200:
        return Scrape(answered=False)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            result.samples[sample.name].append((dict(sample.labels), float(sample.value)))
    return result


def lag(result: Scrape) -> float:
    """The process's consumer lag, all its groups, topics and partitions."""
    return result.total("workrouter_consumer_lag")


def histogram_quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """The q-quantile (0..1) of the observations between two scrapes, interpolated within a bucket as
    Prometheus's histogram_quantile does; NaN without observations."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return math.nan
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = bound, count
    return lower


def histogram_mean(before: Scrape, after: Scrape, histogram: str) -> tuple[float, float]:
    """(observations, mean seconds) of a histogram between two scrapes."""
    count = after.total(histogram + "_count") - before.total(histogram + "_count")
    total = after.total(histogram + "_sum") - before.total(histogram + "_sum")
    return count, (total / count if count else math.nan)
