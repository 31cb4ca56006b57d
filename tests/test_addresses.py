"""The one address parser (model/addresses.py): the four forms, where the application ends in a service name,
what contains what, and a clear refusal of anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfdeclare.model.addresses import (
    AddressError,
    EntityRef,
    PolicyRef,
    application_of,
    contains,
    parse_address,
    within,
)

APP, SVC, PID = "fabric:/A", "fabric:/A/S", "11111111-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("policy[Daily backup]", PolicyRef("Daily backup")),
        ("application[fabric:/A]", EntityRef(APP)),
        ("service[fabric:/A/S]", EntityRef(APP, SVC)),
        (f"partition[fabric:/A/S/{PID}]", EntityRef(APP, SVC, PID)),
    ],
)
def test_each_form_parses_and_formats_back(text: str, ref: EntityRef | PolicyRef) -> None:
    assert parse_address(text) == ref
    assert ref.address == text


def test_a_service_name_belongs_to_the_longest_known_application_that_it_continues() -> None:
    # fabric:/A/B/S is a service of fabric:/A/B when that application is known, else of fabric:/A
    assert parse_address("service[fabric:/A/B/S]", ["fabric:/A", "fabric:/A/B"]) == EntityRef(
        "fabric:/A/B", "fabric:/A/B/S"
    )
    assert parse_address("service[fabric:/A/B/S]", ["fabric:/A"]) == EntityRef("fabric:/A", "fabric:/A/B/S")
    assert parse_address("service[fabric:/A/B/S]") == EntityRef("fabric:/A", "fabric:/A/B/S")
    part = parse_address(f"partition[fabric:/A/B/S/{PID}]", ["fabric:/A/B"])
    assert isinstance(part, EntityRef) and part.application == "fabric:/A/B"
    # a known application that is only a string prefix, not a path prefix, does not own it
    assert application_of("fabric:/AB/S", ["fabric:/A"]) == "fabric:/AB"


@pytest.mark.parametrize(
    "text",
    [
        "nonsense",
        "service[fabric:/A/S",
        "policy[]",
        "cluster[fabric:/A]",
        "service[S]",
        "service[fabric:/A]",
        "partition[fabric:/A/S]",
        "partition[p1]",
        "service[fabric:/A/S]]",
    ],
)
def test_anything_else_is_refused_with_the_four_forms(text: str) -> None:
    with pytest.raises(AddressError) as caught:
        parse_address(text)
    assert str(caught.value).startswith(f"{text!r} is not an address")
    assert "application[fabric:/App], service[fabric:/App/Svc]" in str(caught.value)


def test_an_application_contains_its_services_and_partitions_and_nothing_else() -> None:
    app, svc, part = EntityRef(APP), EntityRef(APP, SVC), EntityRef(APP, SVC, PID)
    assert contains(app, app) and contains(app, svc) and contains(app, part) and contains(svc, part)
    assert not contains(svc, app) and not contains(part, svc)
    assert not contains(app, EntityRef("fabric:/A/B"))  # another application whose name continues this one
    assert not contains(app, EntityRef("fabric:/AB", "fabric:/AB/S"))
    assert not contains(EntityRef(APP, "fabric:/A/S2"), part)
    assert contains(PolicyRef("P"), PolicyRef("P")) and not contains(PolicyRef("P"), PolicyRef("Q"))
    assert not contains(PolicyRef("P"), app) and not contains(app, PolicyRef("P"))
    assert within(part, [PolicyRef("P"), svc]) and not within(part, [PolicyRef("P")])


_segment = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=6)


@given(app=_segment, svc=_segment, pid=_segment)
def test_every_entity_address_parses_back_to_its_entity(app: str, svc: str, pid: str) -> None:
    for ref in (
        EntityRef(f"fabric:/{app}"),
        EntityRef(f"fabric:/{app}", f"fabric:/{app}/{svc}"),
        EntityRef(f"fabric:/{app}", f"fabric:/{app}/{svc}", pid),
    ):
        assert parse_address(ref.address, [ref.application]) == ref
