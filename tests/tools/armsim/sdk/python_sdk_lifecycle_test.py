"""The official Python SDK (azure-mgmt-sql, Debian python3-azure) drives the failover-group
lifecycle against foghorn-armsim over HTTPS with its own ARM LRO poller. Exit 77 = skipped
(the SDK is not installed)."""
import argparse
import sys
import time
import unittest

sys.path.insert(0, __import__("os").path.dirname(__file__))
from armsim_process import ArmSim  # noqa: E402

try:
    import requests
    from azure.core.credentials import AccessToken
    from azure.mgmt.sql import SqlManagementClient
    from azure.mgmt.sql.models import (FailoverGroup, FailoverGroupReadWriteEndpoint,
                                       FailoverGroupUpdate, PartnerInfo)
except ImportError as e:  # pragma: no cover
    print("SKIP: azure-mgmt-sql not importable:", e)
    sys.exit(77)

SUB = "00000000-1111-2222-3333-444444444444"
TENANT = "11111111-2222-3333-4444-555555555555"
RG = "rg-foghorn"
SERVERS = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Sql/servers"
ARGS = None


class EmulatorCredential:
    """Client-credentials flow against the emulator's Entra ID token endpoint."""

    def __init__(self, base_url, ca):
        self.base_url, self.ca, self.calls = base_url, ca, 0

    def get_token(self, *scopes, **kwargs):
        self.calls += 1
        r = requests.post(f"{self.base_url}/{TENANT}/oauth2/v2.0/token", verify=self.ca,
                          data={"grant_type": "client_credentials", "client_id": "foghorn",
                                "client_secret": "armsim-secret", "scope": " ".join(scopes)})
        r.raise_for_status()
        body = r.json()
        return AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))


class PythonSdkLifecycleTest(unittest.TestCase):
    def setUp(self):
        self.sim = ArmSim(ARGS.binary, ARGS.topology)
        self.cred = EmulatorCredential(self.sim.base_url, self.sim.ca)
        self.client = SqlManagementClient(self.cred, SUB, base_url=self.sim.base_url,
                                          connection_verify=self.sim.ca, polling_interval=0.05)

    def tearDown(self):
        self.client.close()
        self.sim.stop()

    def test_full_lifecycle_with_sdk_pollers(self):
        fgs = self.client.failover_groups
        created = fgs.begin_create_or_update(
            RG, "sql-east", "fog-sdk",
            FailoverGroup(read_write_endpoint=FailoverGroupReadWriteEndpoint(failover_policy="Manual"),
                          partner_servers=[PartnerInfo(id=f"{SERVERS}/sql-west")],
                          databases=[f"{SERVERS}/sql-east/databases/audit"])).result()
        self.assertEqual(created.replication_role, "Primary")
        self.assertEqual(created.partner_servers[0].replication_role, "Secondary")

        got = fgs.get(RG, "sql-west", "fog-sdk")
        self.assertEqual(got.replication_role, "Secondary")
        self.assertEqual(sorted(f.name for f in fgs.list_by_server(RG, "sql-east")),
                         ["fog-orders", "fog-sdk"])

        updated = fgs.begin_update(RG, "sql-east", "fog-sdk", FailoverGroupUpdate(
            read_write_endpoint=FailoverGroupReadWriteEndpoint(
                failover_policy="Automatic",
                failover_with_data_loss_grace_period_minutes=60))).result()
        self.assertEqual(updated.read_write_endpoint.failover_with_data_loss_grace_period_minutes, 60)

        planned = fgs.begin_failover(RG, "sql-west", "fog-sdk").result()
        self.assertEqual(planned.replication_role, "Primary")
        self.assertEqual(fgs.get(RG, "sql-east", "fog-sdk").replication_role, "Secondary")

        forced = fgs.begin_force_failover_allow_data_loss(RG, "sql-east", "fog-sdk").result()
        self.assertEqual(forced.replication_role, "Primary")

        fgs.begin_delete(RG, "sql-east", "fog-sdk").result()
        self.assertEqual(sorted(f.name for f in fgs.list_by_server(RG, "sql-east")), ["fog-orders"])

        self.assertGreaterEqual(self.cred.calls, 1)
        log = self.sim.requests()
        accepted = [r for r in log if r.get("acceptedOperation") and r["route"] in (
            "failover", "forceFailoverAllowDataLoss")]
        self.assertEqual(len(accepted), 2)
        self.assertTrue(any(r["route"] == "asyncOperation" for r in log))

    def test_sdk_surfaces_wrong_side_failover_as_http_error(self):
        from azure.core.exceptions import HttpResponseError
        with self.assertRaises(HttpResponseError) as ctx:
            self.client.failover_groups.begin_failover(RG, "sql-east", "fog-orders").result()
        self.assertIn("FailoverGroupFailoverRequestOnPrimary", str(ctx.exception))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--topology", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest])
