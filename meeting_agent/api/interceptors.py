"""What every RPC passes through, in this order: tracing, telemetry, auth, error mapping.

One grpc.aio interceptor wraps each handler once and runs the four steps inline. Four
interceptors, each wrapping the handler in its own async context manager, cost about a
hundred microseconds a call, as much as a small read; the order is the same and still
written in one place (`RpcInterceptor._unary` and `_stream`).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace

from meeting_agent import errors
from meeting_agent.api.context import Context
from meeting_agent.api.errors import abort_with, internal_status_proto, to_status_proto
from meeting_agent.domain.models import Principal
from meeting_agent.ports import Authenticator
from meeting_agent.telemetry.rpc import end_rpc_span, start_rpc_span

_LOGGER = logging.getLogger(__name__)


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


class RpcObserver(Protocol):
    """Told about every finished RPC; telemetry exporters implement this."""

    def rpc_finished(self, method: str, code: grpc.StatusCode, seconds: float) -> None: ...


class LoggingRpcObserver:
    def rpc_finished(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        if _LOGGER.isEnabledFor(logging.INFO):
            _LOGGER.info(
                "rpc finished",
                extra={
                    "rpc_method": method,
                    "rpc_code": code.name,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )


class SeenUsers(Protocol):
    """Where callers are recorded (the `users` table)."""

    def remembers(self, principal: Principal) -> bool:
        """True when `seen` has nothing to write; must not block."""
        ...

    def seen(self, principal: Principal) -> None:
        """Record the caller; may touch the database, so it runs in a worker thread."""
        ...


class Authentication:
    """Verifies the caller and records it; a caller seen recently costs no thread hop.

    A token verified before is recalled from memory on the event loop; a new one is
    verified in a worker thread, because finding its key may fetch a JWKS document.
    """

    def __init__(self, authenticator: Authenticator, users: SeenUsers) -> None:
        self._authenticator = authenticator
        self._users = users

    async def authenticate(self, context: Context) -> None:
        """Make the caller the RPC's principal; raises `MeetingAgentError` to refuse it."""
        metadata = context.invocation_metadata() or ()
        principal = self._authenticator.recall(metadata)
        if principal is None:
            principal = await asyncio.to_thread(self._authenticator.authenticate, metadata)
        if not self._users.remembers(principal):
            await asyncio.to_thread(self._users.seen, principal)
        # Each RPC runs in its own asyncio task and context, so the value dies with the
        # call; no reset, which would fail when a dropped stream's generator is closed
        # from another context.
        _principal.set(principal)


async def abort_for(method: str, context: Context, exc: BaseException) -> None:
    """End the RPC with the status `exc` deserves: a domain error's own code and
    details, INTERNAL with nothing else for anything unexpected (logged here instead).
    Always raises (`grpc.aio.AbortError`); cancellation and aborts pass through."""
    if isinstance(exc, errors.MeetingAgentError):
        await abort_with(context, to_status_proto(exc))
    if isinstance(exc, grpc.aio.AbortError | asyncio.CancelledError | GeneratorExit):
        raise exc
    _LOGGER.error("unhandled error in %s", method, exc_info=exc)
    await abort_with(context, internal_status_proto())


def _reported_code(context: Context, fallback: grpc.StatusCode) -> grpc.StatusCode:
    reported = context.code()
    return reported if isinstance(reported, grpc.StatusCode) else fallback


class RpcInterceptor(grpc.aio.ServerInterceptor):
    """Tracing, telemetry, auth and error mapping, in that order, for every RPC kind.

    Tracing makes a SERVER span the current span (a no-op span unless the OpenTelemetry
    SDK is installed), so work the handler starts, threads included, joins the caller's
    trace. Telemetry tells the observers each RPC's code and duration. Auth skips the
    public methods. Error mapping turns exceptions into statuses (`abort_for`).
    """

    def __init__(self, authentication: Authentication, observers: Sequence[RpcObserver]) -> None:
        self._authentication = authentication
        self._observers = list(observers)

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
        method = handler_call_details.method
        public = method.startswith(PUBLIC_METHOD_PREFIXES)
        if handler.unary_stream or handler.stream_stream:
            inner_stream = handler.unary_stream or handler.stream_stream

            # An async generator function itself: grpc.aio tells streaming handlers by it.
            async def stream_behavior(request: Any, context: Context) -> AsyncIterator[Any]:
                async for item in self._stream(method, public, inner_stream, request, context):
                    yield item

            factory = (
                grpc.unary_stream_rpc_method_handler
                if handler.unary_stream
                else grpc.stream_stream_rpc_method_handler
            )
            return factory(
                stream_behavior,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

        inner_unary = handler.unary_unary or handler.stream_unary

        async def unary_behavior(request: Any, context: Context) -> Any:
            return await self._unary(method, public, inner_unary, request, context)

        factory = (
            grpc.unary_unary_rpc_method_handler
            if handler.unary_unary
            else grpc.stream_unary_rpc_method_handler
        )
        return factory(
            unary_behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    async def _unary(
        self, method: str, public: bool, inner: Any, request: Any, context: Context
    ) -> Any:
        span = self._start(method, context)
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            try:
                if not public:
                    await self._authentication.authenticate(context)
                return await inner(request, context)
            except (grpc.aio.AbortError, asyncio.CancelledError):
                raise
            except Exception as exc:
                await abort_for(method, context, exc)
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except BaseException:
            code = grpc.StatusCode.UNKNOWN
            raise
        finally:
            self._finish(method, context, span, code, started)

    async def _stream(
        self, method: str, public: bool, inner: Any, request: Any, context: Context
    ) -> AsyncIterator[Any]:
        span = self._start(method, context)
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            try:
                if not public:
                    await self._authentication.authenticate(context)
                produced = inner(request, context)
                if inspect.isawaitable(produced):
                    # A handler that streams with `context.write` (grpc's own health
                    # Watch) returns a coroutine, not an iterator.
                    await produced
                else:
                    async for item in produced:
                        yield item
            except (grpc.aio.AbortError, asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:
                await abort_for(method, context, exc)
        except (asyncio.CancelledError, GeneratorExit):
            code = grpc.StatusCode.CANCELLED
            raise
        except BaseException:
            code = grpc.StatusCode.UNKNOWN
            raise
        finally:
            self._finish(method, context, span, code, started)

    @staticmethod
    def _start(method: str, context: Context) -> trace.Span:
        span = start_rpc_span(method, context.invocation_metadata())
        # Like the principal, the context dies with the RPC's own asyncio task; no
        # detach, which would fail when a dropped stream is closed from another context.
        otel_context.attach(trace.set_span_in_context(span))
        return span

    def _finish(
        self, method: str, context: Context, span: trace.Span, code: grpc.StatusCode, started: float
    ) -> None:
        code = _reported_code(context, code)
        end_rpc_span(span, code.name, code.value[0])
        elapsed = time.perf_counter() - started
        for observer in self._observers:
            observer.rpc_finished(method, code, elapsed)
