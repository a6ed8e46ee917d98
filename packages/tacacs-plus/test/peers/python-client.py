"""The Python tacacs_plus client (PyPI, 2.6) against a TACACS+ server: authentication, authorization and
accounting, one connection per request (the library has no single-connection mode). The key comes from
the environment (TACACS_KEY), never argv. Prints one JSON object.

  python-client.py PORT            the fixed exchanges test/peers.test.ts checks
  python-client.py PORT bench MS   authorizations for MS milliseconds, one after another; prints the count
"""

import json
import os
import sys
import time

from tacacs_plus.client import TACACSClient
from tacacs_plus.flags import (
    TAC_PLUS_ACCT_FLAG_START,
    TAC_PLUS_ACCT_FLAG_STOP,
    TAC_PLUS_AUTHEN_TYPE_ASCII,
    TAC_PLUS_AUTHEN_TYPE_PAP,
)

port = int(sys.argv[1])
client = TACACSClient("127.0.0.1", port, os.environ["TACACS_KEY"], timeout=5)


def authorize(user, words):
    args = [b"service=shell", b"cmd=" + words[0].encode()] + [b"cmd-arg=" + w.encode() for w in words[1:]]
    return client.authorize(user, arguments=args)


if len(sys.argv) > 2 and sys.argv[2] == "bench":
    until = time.monotonic() + int(sys.argv[3]) / 1000
    started = time.monotonic()
    n = 0
    while time.monotonic() < until:
        if not authorize("net-viewer", ["show", "version"]).valid:
            raise SystemExit("unexpected deny")
        n += 1
    print(json.dumps({"authorizations": n, "seconds": time.monotonic() - started}))
    sys.exit(0)

out = {}
out["ascii_good"] = client.authenticate("net-viewer", "labpass", authen_type=TAC_PLUS_AUTHEN_TYPE_ASCII).valid
out["ascii_bad"] = client.authenticate("net-viewer", "wrong", authen_type=TAC_PLUS_AUTHEN_TYPE_ASCII).valid
out["pap_good"] = client.authenticate("net-operator", "labpass", authen_type=TAC_PLUS_AUTHEN_TYPE_PAP).valid
out["pap_bad"] = client.authenticate("net-operator", "wrong", authen_type=TAC_PLUS_AUTHEN_TYPE_PAP).valid
for name, user, words in [
    ("viewer_show", "net-viewer", ["show", "bgp", "summary"]),
    ("viewer_configure", "net-viewer", ["configure", "terminal"]),
    ("operator_ping", "net-operator", ["ping", "-c", "3", "10.0.0.1"]),
    ("admin_reboot", "net-admin", ["reboot"]),
]:
    r = authorize(user, words)
    out[name] = {"valid": r.valid, "status": r.status}
for name, flags in [("acct_start", TAC_PLUS_ACCT_FLAG_START), ("acct_stop", TAC_PLUS_ACCT_FLAG_STOP)]:
    r = client.account(
        "net-operator",
        flags,
        arguments=[b"task_id=42", b"service=shell", b"cmd=ping", b"cmd-arg=10.0.0.1"],
    )
    out[name] = {"valid": r.valid, "status": r.status}
print(json.dumps(out))
