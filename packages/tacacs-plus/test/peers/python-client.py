"""The Python tacacs_plus client (PyPI, 2.6) against a TACACS+ server: authentication, authorization and
accounting, one connection per request (the library has no single-connection mode). The key comes from
the environment (TACACS_KEY), never argv. Prints one JSON object.

  python-client.py PORT            the fixed exchanges test/peers.test.ts checks
  python-client.py PORT bench      authorizations one after another, for the milliseconds given on each
                                   stdin line; one JSON line of counts per stdin line
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


def authorize(user, words, rem_addr="python"):
    args = [b"service=shell", b"cmd=" + words[0].encode()] + [b"cmd-arg=" + w.encode() for w in words[1:]]
    return client.authorize(user, arguments=args, rem_addr=rem_addr, port="ssh")


if len(sys.argv) > 2 and sys.argv[2] == "bench":
    # Driven by the benchmark: each line on stdin is a number of milliseconds to run for; the answer is
    # one JSON line with the authorizations done, the seconds taken and the CPU seconds used.
    rem_addr = "bob/cert:7/sid:fd9e4bdc77df2fa8/req:AAAAAAAAAAAAAAAAAAAAAA"
    for line in sys.stdin:
        until = time.monotonic() + int(line) / 1000
        started, cpu, n = time.monotonic(), time.process_time(), 0
        while time.monotonic() < until:
            # The request the Node side of the benchmark sends: the same fields, byte for byte.
            if not authorize("net-viewer", ["show", "bgp", "summary"], rem_addr).valid:
                raise SystemExit("unexpected deny")
            n += 1
        result = {"authorizations": n, "seconds": time.monotonic() - started, "cpu_seconds": time.process_time() - cpu}
        print(json.dumps(result), flush=True)
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
