"""Server interceptors, applied in this order: tracing, telemetry, auth, error mapping.

grpc.aio interceptors only see the handler, not its outcome, so each interceptor
wraps the handler's behaviour in an async context manager (`around`) that runs for
every kind of RPC, streaming or not.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeAlias

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace

from meeting_agent import errors
from meeting_agent.api.errors import abort_with, internal_status_proto, to_status_proto
from meeting_agent.domain.models import Principal
from meeting_agent.ports import Authenticator
from meeting_agent.telemetry.rpc import end_rpc_span, start_rpc_span

_LOGGER = logging.getLogger(__name__)

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpcio ships no types
Around = Callable[[str, Context], AbstractAsyncContextManager[None]]

# Probes and tooling must work without a token (SPEC §6).
PUBLIC_METHOD_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")


def current_principal() -> Principal:
    """The authenticated caller of the RPC being served."""
    return _principal.get()


def _wrap(handler: grpc.RpcMethodHandler[Any, Any], method: str,
          around: Around) -> grpc.RpcMethodHandler[Any, Any]:
    if handler.unary_stream or handler.stream_stream:
        inner_stream = handler.unary_stream or handler.stream_stream

        async def stream_behavior(request: Any, context: Context) -> AsyncIterator[Any]:
            async with around(method, context):
                async for item in inner_stream(request, context):
                    yield item

        factory = (grpc.unary_stream_rpc_method_handler if handler.unary_stream
                   else grpc.stream_stream_rpc_method_handler)
        return factory(stream_behavior, request_deserializer=handler.request_deserializer,
                       response_serializer=handler.response_serializer)

    inner_unary = handler.unary_unary or handler.stream_unary

    async def unary_behavior(request: Any, context: Context) -> Any:
        async with around(method, context):
            return await inner_unary(request, context)

    factory = (grpc.unary_unary_rpc_method_handler if handler.unary_unary
               else grpc.stream_unary_rpc_method_handler)
    return factory(unary_behavior, request_deserializer=handler.request_deserializer,
                   response_serializer=handler.response_serializer)


class _AroundInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return _wrap(handler, handler_call_details.method, self.around)

    def around(self, method: str, context: Context) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError


class RpcObserver(Protocol):
    """Told about every finished RPC; telemetry exporters implement this."""

    def rpc_finished(self, method: str, code: grpc.StatusCode, seconds: float) -> None: ...


class LoggingRpcObserver:
    def rpc_finished(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        _LOGGER.info("rpc finished", extra={"rpc_method": method, "rpc_code": code.name,
                                            "duration_ms": round(seconds * 1000, 2)})


class TelemetryInterceptor(_AroundInterceptor):
    def __init__(self, observers: Sequence[RpcObserver]) -> None:
        self._observers = list(observers)

    @asynccontextmanager
    async def around(self, method: str, context: Context) -> AsyncIterator[None]:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            yield
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except BaseException:
            code = grpc.StatusCode.UNKNOWN
            raise
        finally:
            reported = context.code()
            if isinstance(reported, grpc.StatusCode):
                code = reported
            elapsed = time.perf_counter() - started
            for observer in self._observers:
                observer.rpc_finished(method, code, elapsed)


class TracingInterceptor(_AroundInterceptor):
    """Makes a SERVER span the current span of every RPC (a no-op span unless the
    OpenTelemetry SDK is installed), so work the handler starts, threads included, joins
    the caller's trace."""

    @asynccontextmanager
    async def around(self, method: str, context: Context) -> AsyncIterator[None]:
        span = start_rpc_span(method, context.invocation_metadata())
        # Like the principal, the context dies with the RPC's own asyncio task; no
        # detach, which would fail when a dropped stream is closed from another context.
        otel_context.attach(trace.set_span_in_context(span))
        code = grpc.StatusCode.OK
        try:
            yield
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except BaseException:
            code = grpc.StatusCode.UNKNOWN
            raise
        finally:
            reported = context.code()
            if isinstance(reported, grpc.StatusCode):
                code = reported
            end_rpc_span(span, code.name, code.value[0])


class AuthInterceptor(_AroundInterceptor):
    def __init__(self, authenticator: Authenticator,
                 on_authenticated: Callable[[Principal], None]) -> None:
        self._authenticator = authenticator
        # Called in a worker thread: it may touch the database.
        self._on_authenticated = on_authenticated

    @asynccontextmanager
    async def around(self, method: str, context: Context) -> AsyncIterator[None]:
        if method.startswith(PUBLIC_METHOD_PREFIXES):
            yield
            return
        try:
            principal = self._authenticator.authenticate(context.invocation_metadata() or ())
            await asyncio.to_thread(self._on_authenticated, principal)
        except errors.MeetingAgentError as exc:
            await abort_with(context, to_status_proto(exc))
        # Each RPC runs in its own asyncio task and context, so the value dies with the
        # call; no reset, which would fail when a dropped stream's generator is closed
        # from another context.
        _principal.set(principal)
        yield


class ErrorMappingInterceptor(_AroundInterceptor):
    @asynccontextmanager
    async def around(self, method: str, context: Context) -> AsyncIterator[None]:
        try:
            yield
        except errors.MeetingAgentError as exc:
            await abort_with(context, to_status_proto(exc))
        except (grpc.aio.AbortError, asyncio.CancelledError, GeneratorExit):
            raise
        except Exception:
            # The traceback stays in our logs; the caller gets a generic INTERNAL.
            _LOGGER.exception("unhandled error in %s", method)
            await abort_with(context, internal_status_proto())
