"""A law: after any sequence of enable / disable / suspend / resume, the emulator answers what a plain
reference model of rules 17-20 (exact-key upserts, partition > service > app resolution) says."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
from emulator_support import CALC_PARTITIONS, CALC_TOPOLOGY, NO_CA, Api
from hypothesis import given, settings
from hypothesis import strategies as st

from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.transport import EmulatorTransport

APP, SVC = "fabric:/CalcApp", "fabric:/CalcApp/CalcService"
ENTITIES = {
    "Applications/CalcApp": (APP,),
    "Services/CalcApp~CalcService": (APP, SVC),
    **{f"Partitions/{pid}": (APP, SVC, pid) for pid in CALC_PARTITIONS[:2]},
}
LEVELS = ("Application", "Service", "Partition")

operations = st.lists(
    st.tuples(
        st.sampled_from(["EnableBackup", "DisableBackup", "SuspendBackup", "ResumeBackup"]),
        st.sampled_from(sorted(ENTITIES)),
        st.sampled_from(["p1", "p2"]),
    ),
    max_size=12,
)


class Model:
    def __init__(self) -> None:
        self.mappings: dict[tuple[str, ...], str] = {}
        self.suspended: set[tuple[str, ...]] = set()

    def apply(self, op: str, key: tuple[str, ...], policy: str) -> int:
        if op == "EnableBackup":
            self.mappings[key] = policy
        elif op == "DisableBackup":
            if key not in self.mappings:
                return 404
            del self.mappings[key]
        elif not self.mappings:
            return 404
        elif op == "SuspendBackup":
            self.suspended.add(key)
        else:
            self.suspended.discard(key)
        return 202

    def partition(self, pid: str) -> dict[str, object] | None:
        chain = [(APP, SVC, pid), (APP, SVC), (APP,)]
        policy = next(((self.mappings[k], LEVELS[len(k) - 1]) for k in chain if k in self.mappings), None)
        suspension = next((LEVELS[len(k) - 1] for k in chain if k in self.suspended), None)
        if policy is None:  # the 6.4 server builds the item only where it finds a policy
            return None
        return {
            "Kind": "Partition",
            "PolicyName": policy[0] if policy else None,
            "PolicyInheritedFrom": policy[1] if policy else "Invalid",
            "SuspensionInfo": {
                "IsSuspended": suspension is not None,
                "SuspensionInheritedFrom": suspension or "Invalid",
            },
            "ServiceName": SVC,
            "PartitionId": pid,
        }


@settings(max_examples=40, deadline=None)
@given(operations)
def test_emulator_matches_the_reference_model(ops: list[tuple[str, str, str]]) -> None:
    with tempfile.TemporaryDirectory() as work:
        state = str(Path(work) / "s.db")
        init_state(state, str(CALC_TOPOLOGY))
        with httpx.Client(transport=EmulatorTransport(state), base_url="http://e", verify=NO_CA) as client:
            api = Api(client)
            api.create("p1")
            api.create("p2")
            model = Model()
            for op, entity, policy in ops:
                body = {"BackupPolicyName": policy} if op == "EnableBackup" else None
                status = api.post(f"/{entity}/$/{op}", body).status_code
                assert status == model.apply(op, ENTITIES[entity], policy), (op, entity)
            for pid in CALC_PARTITIONS:
                assert api.config(f"Partitions/{pid}").json() == model.partition(pid)
            for name in ("p1", "p2"):
                listed = api.get(f"/BackupRestore/BackupPolicies/{name}/$/GetBackupEnabledEntities").json()[
                    "Items"
                ]
                assert len(listed) == sum(1 for p in model.mappings.values() if p == name)
