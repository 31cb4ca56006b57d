"""Topology files: YAML and JSON, the count shorthand, explicit partitions, and file:line:col errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from emulator_support import TOPOLOGIES

from sfdeclare.emulator.topology import (
    INT64_MAX,
    INT64_MIN,
    derived_partition_id,
    int64_ranges,
    load_topology,
    topology_from_dict,
)
from sfdeclare.errors import ConfigError


def test_yaml_topology() -> None:
    topology = load_topology(str(TOPOLOGIES / "calc.yaml"))
    calc = topology.applications[0]
    assert (calc.name, calc.type_name, calc.type_version, calc.parameters) == (
        "fabric:/CalcApp",
        "CalcAppType",
        "1.2.0",
        (("Mode", "fast"),),
    )
    service = calc.services[0]
    assert service.backup_eligible and len(service.partitions) == 3
    assert [p.id for p in service.partitions] == [derived_partition_id(service.name, i) for i in range(3)]
    assert not calc.services[1].backup_eligible and not calc.services[2].backup_eligible
    assert [p.name for p in calc.services[3].partitions] == ["east", "west"]
    assert topology.applications[-1].services == ()


def test_json_topology_and_stable_ids() -> None:
    first = load_topology(str(TOPOLOGIES / "calc.json"))
    second = topology_from_dict(
        {
            "applications": [
                {
                    "name": "fabric:/CalcApp",
                    "services": [{"name": "fabric:/CalcApp/CalcService", "partitions": 2}],
                }
            ]
        },
        "code",
    )
    assert first == second
    assert first.applications[0].type_name == "CalcAppType"


@pytest.mark.parametrize("count", [1, 2, 3, 7, 64])
def test_int64_ranges_cover_everything_evenly(count: int) -> None:
    ranges = int64_ranges(count)
    assert ranges[0][0] == INT64_MIN and ranges[-1][1] == INT64_MAX
    assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(count - 1))
    sizes = {high - low + 1 for low, high in ranges}
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(
    ("name", "line", "col", "text"),
    [
        ("bad_kind.yaml", 5, 15, "service kind must be Stateful or Stateless"),
        ("unsafe_tag.yaml", 1, 15, "YAML tag !!python/object/apply:os.system is not allowed"),
        ("wrong_prefix.yaml", 4, 15, "must start with its application's name"),
        ("bad_guid.json", 2, 25, "partition id must be a GUID"),
        ("syntax.yaml", 4, 1, "YAML syntax error"),
    ],
)
def test_invalid_topologies_report_file_line_column(name: str, line: int, col: int, text: str) -> None:
    path = str(TOPOLOGIES / "invalid" / name)
    with pytest.raises(ConfigError) as caught:
        load_topology(path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.location is not None
    assert (diagnostic.location.file, diagnostic.location.line, diagnostic.location.column) == (
        path,
        line,
        col,
    )
    assert text in diagnostic.message
    assert str(caught.value).startswith(f"{path}:{line}:{col}: error: ")


def test_every_problem_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "applications:\n"
        "  - name: CalcApp\n"
        "  - name: fabric:/B\n"
        "    colour: red\n"
        "    services:\n"
        "      - {name: fabric:/B/S, kind: Stateless, has_persisted_state: true}\n"
        "      - {name: fabric:/B/T, partitions: 0}\n"
        "      - name: fabric:/B/U\n"
        "        partitions: [{kind: Singleton}, {kind: Singleton}]\n"
        "      - name: fabric:/B/V\n"
        "        partitions: [{low_key: 0, high_key: 10}, {low_key: 5, high_key: 20}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_topology(str(path))
    messages = [(d.location.line if d.location else 0, d.message) for d in caught.value.diagnostics]
    assert [line for line, _ in messages] == [2, 4, 6, 7, 9, 11]


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1]\nb: *x\n",
        "applications: []\napplications: []\n",
        "- just a list\n",
        "applications:\n  - {name: 'fabric:/A'}\n  - {name: 'fabric:/A'}\n",
        "applications:\n  - {name: 'fabric:/A'}\n  - {name: 'fabric:/A/B'}\n",
        "applications:\n  - {name: 'fabric:/A~B'}\n",
    ],
)
def test_refused_documents(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_topology(str(path))


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_topology(str(tmp_path / "none.yaml"))


def test_topology_from_dict_errors_carry_the_json_path() -> None:
    with pytest.raises(ConfigError) as caught:
        topology_from_dict({"applications": [{"name": "fabric:/A", "services": "x"}]}, "code")
    location = caught.value.diagnostics[0].location
    assert location is not None and (location.file, location.path) == ("code", "$.applications[0].services")
