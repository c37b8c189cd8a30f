#!/usr/bin/env python3
"""Exit 0 when the meeting-agent server reports SERVING on `grpc.health.v1`, 1 otherwise.

The container HEALTHCHECK runs this: `grpc_health_probe` is a separate download, and
the image already has grpcio and grpcio-health-checking.

    python scripts/health_probe.py [--address 127.0.0.1:50051] [--service NAME]
        [--timeout 3] [--tls] [--ca-file ca.pem]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def probe(
    address: str,
    *,
    service: str = "",
    timeout: float = 3.0,
    root_certificates: bytes | None = None,
    tls: bool = False,
) -> bool:
    """True when `address` answers SERVING for `service` ("" is the server as a whole)."""
    channel = (
        grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates))
        if tls or root_certificates
        else grpc.insecure_channel(address)
    )
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            print(f"health probe: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return False
    serving: bool = response.status == health_pb2.HealthCheckResponse.SERVING
    if not serving:
        print(
            "health probe: " + health_pb2.HealthCheckResponse.ServingStatus.Name(response.status),
            file=sys.stderr,
        )
    return serving


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="health_probe.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--service", default="")
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--tls", action="store_true", help="TLS with the system's roots")
    parser.add_argument("--ca-file", help="PEM roots for TLS (implies --tls)")
    args = parser.parse_args(argv)
    roots = Path(args.ca_file).read_bytes() if args.ca_file else None
    return (
        0
        if probe(
            args.address,
            service=args.service,
            timeout=args.timeout,
            root_certificates=roots,
            tls=args.tls,
        )
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
