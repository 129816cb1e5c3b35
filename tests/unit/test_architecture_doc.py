"""docs/architecture.md stays true to the code: its picture names exactly the topics, services and PostgreSQL
tables the code has, joins each service to the topics its code names, and every path and link it gives exists."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from workrouter.contracts.topics import ALL_TOPICS, TopicNames

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
SERVICES = ROOT / "services" / "workrouter" / "services"
CLASSES = {"service", "topic", "store", "outside"}

# The picture's grammar, kept small on purpose: one node per line, `id("label"):::class` in any Mermaid shape,
# and edges between ids, with an optional quoted label.
NODE = re.compile(r'^(?P<id>\w+)\s*[(\[{]+"(?P<label>[^"]*)"[)\]}]+:::(?P<cls>\w+)$')
EDGE = re.compile(r'^(?P<a>\w+)\s*(?:-->|-\.->|---)\s*(?:\|"[^"]*"\|\s*)?(?P<b>\w+)$')
DIRECTIVES = ("flowchart ", "classDef ", "%%")
CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (?:\{s\}\.)?(\w+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Picture:
    """The Mermaid diagram of the doc: nodes (id -> class, label) and edges (from, to)."""

    text: str
    nodes: dict[str, tuple[str, str]]
    edges: list[tuple[str, str]]

    def labels(self, cls: str) -> dict[str, str]:
        """Id -> label of the nodes of one class."""
        return {node: label for node, (kind, label) in self.nodes.items() if kind == cls}

    def neighbours(self, node: str) -> set[str]:
        """The nodes joined to `node` by an edge, either way."""
        return {b for a, b in self.edges if a == node} | {a for a, b in self.edges if b == node}


def read_picture(doc: str) -> Picture:
    """Parse the doc's one ```mermaid block; a line the grammar does not know fails the test."""
    blocks = re.findall(r"^```mermaid\n(.*?)^```", doc, flags=re.M | re.S)
    assert len(blocks) == 1, f"docs/architecture.md should have one mermaid block, has {len(blocks)}"
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str]] = []
    for raw in blocks[0].splitlines():
        line = raw.strip()
        if not line or line.startswith(DIRECTIVES):
            continue
        if node := NODE.match(line):
            assert node["id"] not in nodes, f"node {node['id']} is declared twice"
            nodes[node["id"]] = (node["cls"], node["label"])
        elif edge := EDGE.match(line):
            edges.append((edge["a"], edge["b"]))
        else:
            pytest.fail(f"a line of the diagram this test cannot read: {line!r} (one node or one edge a line)")
    return Picture(blocks[0], nodes, edges)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def picture(doc: str) -> Picture:
    return read_picture(doc)


def service_packages() -> set[str]:
    """Every service of the code: a package of services/workrouter/services with a service.py."""
    return {path.parent.name for path in SERVICES.glob("*/service.py")}


def topic_names_in(package: Path) -> set[str]:
    """The topics a service's code names through `TopicNames` (`topics.tasks`, `TopicNames(prefix).tasks`)."""
    attributes = [name for name, value in vars(TopicNames).items() if isinstance(value, property)]
    pattern = re.compile(r"(?:\btopics|TopicNames\([^)]*\))\.(" + "|".join(attributes) + r")\b")
    named = {m[1] for path in package.rglob("*.py") for m in pattern.finditer(path.read_text(encoding="utf-8"))}
    return {getattr(TopicNames(), attribute) for attribute in named}


def section(doc: str, heading: str) -> str:
    """The text of one `## ` section."""
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", doc, flags=re.M | re.S)
    assert found, f"docs/architecture.md has no section '## {heading}'"
    return found[1]


def difference(what: str, code: set[str], drawn: set[str]) -> str:
    """What the diagram lacks and what it has that the code lacks."""
    return f"{what} missing from the diagram: {sorted(code - drawn)}; drawn but not in the code: {sorted(drawn - code)}"


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_node_has_a_known_class_and_every_edge_joins_declared_nodes(picture: Picture) -> None:
    assert {kind for kind, _ in picture.nodes.values()} <= CLASSES
    undeclared = {end for edge in picture.edges for end in edge} - set(picture.nodes)
    assert not undeclared, f"edges name nodes the diagram does not declare: {sorted(undeclared)}"


def test_the_picture_has_every_topic_of_the_code_and_no_other(picture: Picture) -> None:
    code = {spec.name for spec in ALL_TOPICS}
    drawn = set(picture.labels("topic").values())
    assert drawn == code, difference("topics", code, drawn)
    mentioned = set(re.findall(r"\bwr\.[a-z_]+", picture.text))
    assert mentioned <= code, f"the diagram mentions topics the code lacks: {sorted(mentioned - code)}"


def test_every_topic_in_the_picture_has_a_writer_and_a_reader(picture: Picture) -> None:
    for node, name in picture.labels("topic").items():
        assert any(b == node for _, b in picture.edges), f"nobody writes {name} in the diagram"
        assert any(a == node for a, _ in picture.edges), f"nobody reads {name} in the diagram"


def test_the_picture_has_every_service_of_the_code_and_nothing_else_as_a_service(picture: Picture) -> None:
    code = service_packages()
    assert len(code) >= 7, "services/workrouter/services/*/service.py moved? this test looks there"
    drawn = picture.labels("service")
    assert set(drawn) == code, difference("services", code, set(drawn))
    assert all(node == label for node, label in drawn.items()), "a service node is labelled with its package name"
    others = {label for kind, label in picture.nodes.values() if kind != "service"}
    assert not others & code, f"named like a service but not drawn as one: {sorted(others & code)}"


@pytest.mark.parametrize("service", sorted(service_packages()))
def test_each_service_is_joined_to_the_topics_its_code_names(picture: Picture, service: str) -> None:
    code = topic_names_in(SERVICES / service)
    topics = picture.labels("topic")
    drawn = {topics[node] for node in picture.neighbours(service) if node in topics}
    assert drawn == code, (
        f"{service}: its code names {sorted(code)}, the diagram joins it to {sorted(drawn)} "
        "(an edge is a publish or a subscription: see the service's service.py and handlers)"
    )


def test_the_picture_names_every_postgresql_table_the_code_creates(picture: Picture) -> None:
    sources = [*(ROOT / "libs").rglob("*.py"), *(ROOT / "services").rglob("*.py")]
    code = {m[1] for path in sources for m in CREATE_TABLE.finditer(path.read_text(encoding="utf-8"))}
    assert code, "no CREATE TABLE found: has the DDL moved? this test reads libs/ and services/"
    drawn = {
        table.strip()
        for label in picture.labels("store").values()
        if label.startswith("PostgreSQL:")
        for table in label.removeprefix("PostgreSQL:").split(",")
    }
    assert drawn == code, difference("tables", code, drawn)


def test_every_path_in_the_where_table_exists(doc: str) -> None:
    rows = [line for line in section(doc, "Where does X live").splitlines() if line.startswith("|")]
    body = rows[2:]  # after the header and the |---| line
    assert len(body) >= 15, "the where-does-X-live table looks truncated"
    for row in body:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        paths = re.findall(r"`([^`]+)`", cells[1])
        assert paths, f"a row with no path: {row}"
        missing = [path for path in paths if not (ROOT / path).exists()]
        assert not missing, f"{cells[0]}: no such path in the repository: {missing}"


def test_every_link_of_the_doc_resolves_to_a_file_and_heading(doc: str) -> None:
    for target in LINK.findall(doc):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (DOC.parent / path).resolve() if path else DOC
        if not file.is_relative_to(ROOT):
            continue  # ../../shared/ARCHITECTURE.md lives beside the repository, not in it
        assert file.exists(), f"link to a missing file: {target}"
        if anchor and file.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), flags=re.M)
            assert anchor in {slug(h) for h in headings}, f"link to a missing heading: {target}"


def test_the_layers_quote_the_import_contracts_and_name_every_layer(doc: str) -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = " ".join(section(doc, "The layers").split())  # as read, whatever the line breaks
    for contract in contracts["contracts"]:
        assert f'"{contract["name"]}"' in layers, f"the import contract {contract['name']!r} is not described"
        for layer in contract.get("layers", []):
            for package in re.split(r"[|:]", layer):
                assert f"`{package.strip()}`" in layers, f"the layer {package.strip()} is not described"


def test_the_readme_links_the_doc() -> None:
    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
