"""HTTP edge cases on a raw socket against a real `serve` process: each gets an answer in
the documented JSON error shape (or a clean close), and no log holds a traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.asyncapi_check import check_message
from tests.conftest import SLOW
from tests.ops.cli import quiet_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """(port, data folder) of a running `serve`; stopped at the end, its logs checked."""
    tmp = tmp_path_factory.mktemp("edges")
    port = _free_port()
    (tmp / "c.toml").write_text(quiet_config())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOHUB_")}
    env |= {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = subprocess.Popen([sys.executable, "-m", "cryptohub_desktop", "serve", "--port",
                             str(port), "--data-dir", str(tmp / "d"), "--config",
                             str(tmp / "c.toml")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 30 * SLOW
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError(proc.communicate(timeout=5)) from None
            time.sleep(0.1)
    try:
        yield port, tmp / "d"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20 * SLOW)
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    logs = tmp / "d" / "logs"
    assert (logs / "error.log").read_text() == "", (logs / "error.log").read_text()[:2000]
    for log in logs.glob("*.log"):
        assert "Traceback" not in log.read_text(), log


def raw(port: int, request: bytes, wait: float = 5.0) -> bytes:
    """Send ``request`` on a new connection; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait * SLOW) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def parse(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one HTTP/1.1 answer."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), data[:200]
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def error_of(data: bytes, status: int) -> dict[str, str]:
    """The JSON error of an answer with ``status`` (one answer, nothing after it)."""
    code, headers, body = parse(data)
    assert code == status, data[:300]
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body), "one answer, nothing after it"
    err = json.loads(body)
    assert set(err) == {"error", "detail"} and err["detail"], err
    return err


HOST = b"Host: 127.0.0.1\r\n"


def test_two_pipelined_gets_get_the_first_answer_then_a_close(serve):
    """Two GETs in one write: the first is answered (Connection: close), then the server
    closes; the second is not read, so the client sends it again."""
    port, _ = serve
    data = raw(port, b"GET /health HTTP/1.1\r\n" + HOST + b"\r\n"
                     b"GET /api/status HTTP/1.1\r\n" + HOST + b"\r\n")
    code, headers, body = parse(data)
    assert code == 200 and headers["connection"] == "close"
    assert json.loads(body)["status"] == "healthy"  # exactly one JSON body, then EOF


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE"])
def test_a_body_with_another_method_gets_405(serve, method):
    """POST/PUT/DELETE with a body get 405 with Allow: GET, HEAD and the JSON error."""
    port, _ = serve
    data = raw(port, method + b" /api/status HTTP/1.1\r\n" + HOST +
               b"Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\": true}")
    assert error_of(data, 405)["error"] == "method_not_allowed"
    assert parse(data)[1]["allow"] == "GET, HEAD"


def test_chunked_bodies_are_refused_in_the_error_shape(serve):
    """A chunked POST gets 405; a GET with a chunked body gets 400 body_not_allowed."""
    port, _ = serve
    chunked = b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    assert error_of(raw(port, b"POST /api/market HTTP/1.1\r\n" + HOST + chunked),
                    405)["error"] == "method_not_allowed"
    assert error_of(raw(port, b"GET /api/market HTTP/1.1\r\n" + HOST + chunked),
                    400)["error"] == "body_not_allowed"


def test_folded_header_lines_get_400(serve):
    """A header continued on the next line (obsolete folding) gets 400 bad_request."""
    port, _ = serve
    data = raw(port, b"GET /health HTTP/1.1\r\n" + HOST + b"X-Long: one\r\n  two\r\n\r\n")
    assert "folded" in error_of(data, 400)["detail"]


@pytest.mark.parametrize("request_line", [b"GET /health HTTP/2.0", b"PRI * HTTP/2.0",
                                          b"GET /health HTTP/3"])
def test_other_http_versions_get_505(serve, request_line):
    """An HTTP/2.0 (or 3) request line, the HTTP/2 preface included, gets 505."""
    port, _ = serve
    data = raw(port, request_line + b"\r\n" + HOST + b"\r\n")
    assert error_of(data, 505)["error"] == "http_version_not_supported"


def test_head_answers_the_get_head_without_a_body(serve):
    """HEAD gets GET's status and headers (Content-Length of the GET body), no body;
    HEAD of an unknown path gets 404 without the body."""
    port, _ = serve
    code, headers, body = parse(raw(port, b"HEAD /api/providers HTTP/1.1\r\n" + HOST + b"\r\n"))
    assert code == 200 and body == b"" and int(headers["content-length"]) > 1000
    assert headers["content-type"] == "application/json"
    code, headers, body = parse(raw(port, b"HEAD /nope HTTP/1.1\r\n" + HOST + b"\r\n"))
    assert code == 404 and body == b"" and int(headers["content-length"]) > 0


def test_not_http_at_all_gets_400(serve):
    """A line that is no request line gets 400 in the error shape."""
    port, _ = serve
    assert error_of(raw(port, b"HELLO THERE\r\n\r\n"), 400)["error"] == "bad_request"


def test_trailing_slashes_work_for_rest_and_websocket(serve):
    """/api/status/ answers like /api/status, and /ws/master/ opens a WebSocket."""
    port, _ = serve
    assert httpx.get(f"http://127.0.0.1:{port}/api/status/").json()["database"] == "connected"
    with connect(f"ws://127.0.0.1:{port}/ws/master/", open_timeout=10 * SLOW) as ws:
        ws.send('{"action": "ping"}')
        assert check_message(ws.recv(timeout=10 * SLOW))["type"] == "pong"


def test_the_server_still_serves_after_all_of_it(serve):
    """After every case above, /health still answers 200."""
    port, _ = serve
    assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
