"""The per-call context gRPC hands servicers and interceptors."""

from __future__ import annotations

from typing import Any, TypeAlias

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpcio ships no types
