"""Reading Prometheus' text format as Prometheus would (prometheus_client's parser), and
scraping a server for it."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset], float]


def parsed(text: str) -> Samples:
    """Every sample of the exposition: (sample name, its labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels) -> float:
    """One sample's value; 0 when the exposition has none (nothing counted yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(url: str, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return parsed(response.read().decode())
