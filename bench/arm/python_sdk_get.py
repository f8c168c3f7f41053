"""GET a failover group N times with the official Python SDK (azure-mgmt-sql) against a running
foghorn-armsim, over HTTPS with keep-alive, and print {"n","wall_s","cpu_s"} as JSON. The CPU is
this process's own (time.process_time), measured around the timed loop only.
Usage: python3 python_sdk_get.py <base_url> <ca.pem> <token> <n>"""
import json
import sys
import time

try:
    from azure.core.credentials import AccessToken
    from azure.mgmt.sql import SqlManagementClient
except ImportError as e:  # pragma: no cover
    print(json.dumps({"skipped": str(e)}))
    sys.exit(0)

SUB = "00000000-1111-2222-3333-444444444444"


class StaticCredential:
    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3600)


def main():
    base_url, ca, token, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = SqlManagementClient(StaticCredential(token), SUB, base_url=base_url,
                                 connection_verify=ca)
    for _ in range(min(100, n)):
        client.failover_groups.get("rg-foghorn", "sql-east", "fog-orders")
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        client.failover_groups.get("rg-foghorn", "sql-east", "fog-orders")
    c1, w1 = time.process_time(), time.perf_counter()
    print(json.dumps({"n": n, "wall_s": w1 - w0, "cpu_s": c1 - c0}))


if __name__ == "__main__":
    main()
