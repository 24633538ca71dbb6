"""REST: route a GET to its snapshot function and turn the result into a response.

Paths come from ``routes.py`` and are answered by the hub's HubApi; ``/metrics``, ``/openapi.json`` and ``/docs`` are
served here too. Bad parameters answer 400, unknown paths 404, other methods 405,
all in the ``{"error", "detail"}`` shape; an unexpected exception is logged with
its traceback and answers 500 in the same shape, never a traceback. Every body
is scrubbed of known key values before it leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from importlib import resources

from websockets.http11 import Request, Response

from cryptohub_desktop.api.protocol import HubApi
from cryptohub_desktop.server import metrics
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
        scrub: masks keys in outgoing text.
        cache: keeps answers of routes with ``topics`` until their data changes.
        token_required: whether the OpenAPI document declares the token.
    """

    def __init__(self, api: HubApi, routes: Mapping[str, Route], scrub: Callable[[str], str],
                 cache: AnswerCache, *, token_required: bool) -> None:
        self.api = api
        self.routes = routes
        self.scrub = scrub
        self.cache = cache
        self.openapi_text = encode_json(build_openapi(routes, token_required=token_required))
        self.docs_page = load_docs_page()

    async def handle(self, request: Request) -> Response:
        """The response to ``request`` (never raises)."""
        path, _, query = request.path.partition("?")
        if len(path) > 1:
            path = path.rstrip("/")
        try:
            if request.method != "GET":
                raise ApiError(405, "method_not_allowed", "only GET is served",
                               [("Allow", "GET")])
            return await self._get(path, query)
        except ApiError as exc:
            return error_response(exc)
        except Exception:  # noqa: BLE001 - any bug becomes a logged 500, never a traceback
            log.exception("GET %s failed", path)
            return error_response(ApiError(500, "internal_error",
                                           "the server could not answer; the error is logged"))

    async def _get(self, path: str, query: str) -> Response:
        if path == "/metrics":
            text = self.scrub(await metrics.render(self.api))
            return response(200, text.encode(), metrics.CONTENT_TYPE)
        if path == "/openapi.json":
            return json_response(200, None, text=self.openapi_text)
        if path == "/docs":
            return response(200, self.docs_page, "text/html; charset=utf-8",
                            [("Content-Security-Policy",
                              "default-src 'none'; script-src 'unsafe-inline'; "
                              "style-src 'unsafe-inline'; connect-src 'self'")])
        route = self.routes.get(path)
        if route is None:
            raise ApiError(404, "not_found", f"no such path: {path[:200]} (see /docs)")
        kwargs = parse_query(query, route.params)
        if route.check is not None:
            route.check(kwargs)

        async def build() -> str:
            return self.scrub(encode_json(await getattr(self.api, route.method)(**kwargs)))
        if route.topics:
            key = ("rest", path, repr(sorted(kwargs.items())))
            text = await self.cache.get(key, route.topics, build)
        else:
            text = await build()
        return json_response(200, None, text=text)
