"""Python peers for benchmarks/run.py; each prints one JSON line (records, seconds).

    python benchmarks/_peers.py flowreader FILE   a mitmproxy.io.FlowReader loop over the dump
    python benchmarks/_peers.py dnszone FILE      dns.zone.from_file (dnspython), whole zone
"""

from __future__ import annotations

import json
import sys
import time


def flowreader(path: str) -> int:
    from mitmproxy import io

    count = 0
    with open(path, "rb") as stream:
        for _flow in io.FlowReader(stream).stream():
            count += 1
    return count


def dnszone(path: str) -> int:
    import dns.zone

    zone = dns.zone.from_file(path, relativize=False, check_origin=False)
    return sum(len(rdataset) for _name, rdataset in zone.iterate_rdatasets())


PEERS = {"flowreader": flowreader, "dnszone": dnszone}


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in PEERS:
        print(__doc__, file=sys.stderr)
        return 2
    started = time.perf_counter()
    records = PEERS[sys.argv[1]](sys.argv[2])
    print(json.dumps({"records": records, "seconds": round(time.perf_counter() - started, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
