"""REST: route a GET (or HEAD) to its HubApi read and turn the result into a response.

Paths come from ``routes.py`` and are answered by the hub's HubApi; ``/metrics``,
``/openapi.json``, ``/asyncapi.json`` and ``/docs`` are served here too. Bad
parameters answer 400, unknown paths 404, other methods 405, all in the
``{"error", "detail"}`` shape; an unexpected exception is logged with its traceback
and answers 500 in the same shape, never a traceback. HEAD answers what GET would,
without the body. Every body is scrubbed of known key values before it leaves.

Answers are encoded once (orjson) and, for routes with ``topics``, kept encoded in
the cache until their data changes. Routes marked ``offload`` (answers that can run
to megabytes: ``/api/history``) are encoded on a worker thread, so the event loop
keeps answering everyone else meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from websockets.http11 import Request, Response

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.core.errors import StoreError
from cryptohub_desktop.server import metrics
from cryptohub_desktop.server.asyncapi import build_asyncapi
from cryptohub_desktop.server.cache import AnswerCache
from cryptohub_desktop.server.openapi import build_openapi
from cryptohub_desktop.server.params import parse_query
from cryptohub_desktop.server.responses import (
    ApiError,
    encode_json,
    error_response,
    json_response,
    response,
)
from cryptohub_desktop.server.routes import Route

log = logging.getLogger("cryptohub.server.rest")

FALLBACK_DOCS = ("<!doctype html><title>API</title><p>The docs page is missing from this "
                 "installation; the description is at <a href='/openapi.json'>/openapi.json</a>.")
METHODS = ("GET", "HEAD")
DOCS_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'")


def load_docs_page() -> bytes:
    """``resources/docs.html`` (self-contained, no network needed)."""
    try:
        return (resources.files("cryptohub_desktop.resources").joinpath("docs.html")
                .read_bytes())
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        log.warning("resources/docs.html missing; /docs serves a stub")
        return FALLBACK_DOCS.encode()


class RestApi:
    """Answers REST GETs for one hub.

    Args:
        api: the hub served.
        routes: the route table (``routes.build_routes``).
        scrub: masks keys in outgoing bytes.
        cache: keeps answers of routes with ``topics`` until their data changes.
        token_required: whether the OpenAPI document declares the token.
        exporter: renders ``/metrics`` (``metrics.MetricsExporter``).
    """

    def __init__(self, api: HubApi, routes: Mapping[str, Route], scrub: Callable[[bytes], bytes],
                 cache: AnswerCache, *, token_required: bool,
                 exporter: metrics.MetricsExporter) -> None:
        self.api = api
        self.routes = routes
        self.scrub = scrub
        self.cache = cache
        self.exporter = exporter
        self.openapi = encode_json(build_openapi(routes, token_required=token_required))
        self.asyncapi = encode_json(build_asyncapi(token_required=token_required))
        self.docs_page = load_docs_page()

    async def handle(self, request: Request, method: str = "GET") -> Response:
        """The response to ``request`` (never raises); ``method`` is the request's own
        (websockets' parser only admits GET, so HEAD arrives rewritten)."""
        path, _, query = request.path.partition("?")
        if len(path) > 1:
            path = path.rstrip("/")
        t0 = time.perf_counter()
        try:
            if method not in METHODS:
                raise ApiError(405, "method_not_allowed", "only GET and HEAD are served",
                               [("Allow", "GET, HEAD")])
            answer = await self._get(path, query)
        except ApiError as exc:
            answer = error_response(exc)
        except StoreError as exc:  # e.g. the PostgreSQL server away: say so, log one line
            log.warning("GET %s: %s", path, exc)
            answer = error_response(ApiError(503, "database_unavailable", str(exc)))
        except Exception:  # noqa: BLE001 - any bug becomes a logged 500, never a traceback
            log.exception("GET %s failed", path)
            answer = error_response(ApiError(500, "internal_error",
                                             "the server could not answer; the error is logged"))
        self.exporter.observe_request(path if path in self.routes else "other",
                                      time.perf_counter() - t0)
        if method == "HEAD":  # the same head (Content-Length of the GET body), no body
            answer = Response(answer.status_code, answer.reason_phrase, answer.headers, b"")
        return answer

    async def _get(self, path: str, query: str) -> Response:
        if path == "/metrics":
            return response(200, self.scrub(await self.exporter.render()), metrics.CONTENT_TYPE)
        if path == "/openapi.json":
            return json_response(200, None, data=self.openapi)
        if path == "/asyncapi.json":
            return json_response(200, None, data=self.asyncapi)
        if path == "/docs":
            return response(200, self.docs_page, "text/html; charset=utf-8",
                            [("Content-Security-Policy", DOCS_CSP)])
        route = self.routes.get(path)
        if route is None:
            raise ApiError(404, "not_found", f"no such path: {path[:200]} (see /docs)")
        kwargs = parse_query(query, route.params)
        if route.check is not None:
            route.check(kwargs)

        async def build() -> bytes:
            body = await getattr(self.api, route.method)(**kwargs)
            if route.offload:
                return await asyncio.to_thread(self._encode, body)
            return self._encode(body)
        if route.topics or route.ttl:
            key = ("rest", path, repr(sorted(kwargs.items())))
            data = await self.cache.get(key, route.topics, build, ttl=route.ttl)
        else:
            data = await build()
        return json_response(200, None, data=data)

    def _encode(self, body: Any) -> bytes:
        return self.scrub(encode_json(body))
