"""HTTP details shared by both clients: one request through ``urllib`` within a total deadline, header parsing, backoff,
and what a non-2xx answer means. Blocking: ``AsyncClient`` runs ``request`` in its own worker threads, never on the
event loop."""

from __future__ import annotations

import email.utils
import http.client
import json
import math
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from . import __version__  # defined at the top of the package's __init__, before it imports this module
from ._types import ClientError

#: Sent with every request, so the server's operators can tell client versions apart.
USER_AGENT = f"scoregate-python/{__version__}"
#: An HTTP product (RFC 9110, section 10.1.5): a token, optionally ``/`` and a version token (the TypeScript client's)
PRODUCT = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:/[!#$%&'*+.^_`|~0-9A-Za-z-]+)?")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_json(raw: Any) -> Any:
    """``json.loads`` of JSON only: ``NaN``, ``Infinity`` and ``-Infinity``, which Python's parser accepts and
    JavaScript's ``JSON.parse`` refuses, are a ValueError (a body holding them is not a threshold, as in the TypeScript
    client)."""
    return json.loads(raw, parse_constant=_refuse_constant)


def with_product(user_agent: str, product: Any) -> str:
    """``user_agent`` with ``product`` in front, unless it names it already. TypeError for a value that is not an HTTP
    product (``name`` or ``name/version``, token characters only), as the TypeScript client's ``withProduct``."""
    if not isinstance(product, str) or not PRODUCT.fullmatch(product):
        raise TypeError(f"scoregate: {product!r} is not an HTTP product such as 'my-service/1.2'")
    return user_agent if product in user_agent.split(" ") else f"{product} {user_agent}"


#: The response header that names the server's API version (read for diagnostics, never required).
API_VERSION_HEADER = "scoregate-api-version"

#: Bytes read from an answer at a time: the total deadline is checked after each read, so a body that drips in slowly
#: (each read within urllib's per-operation timeout) cannot hold a request past it.
READ_CHUNK_BYTES = 16 * 1024

Opener = Callable[..., Any]
Response = Tuple[int, Mapping[str, str], Any]


class Failed(Exception):
    """A request that got no HTTP answer (network failure, timeout)."""

    def __init__(self, error: ClientError):
        super().__init__(error.message)
        self.error = error


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the same origin: urllib would otherwise resend the Authorization header (the
    bearer token) to whatever host a redirect names. The API never redirects, so refusing costs nothing; a refused
    redirect surfaces as its 3xx status (``bad_request``)."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if (old.scheme, old.netloc) != (new.scheme, new.netloc):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Abort:
    """Ends a request from another thread once its caller has stopped waiting (its deadline passed): shuts its socket
    down, which wakes a read blocked in it, so a server that drips its status line or headers (where no deadline can
    be checked) cannot hold the request's thread. Only the default opener's connections can be reached (a test's opener
    is not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: Optional[socket.socket] = None
        self.aborted = False

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sock = self._sock
        if sock is not None:
            _shut(sock)

    def track(self, sock: Any) -> None:
        """The request's socket, once connected (a request aborted meanwhile is ended at once)."""
        with self._lock:
            self._sock = sock
            aborted = self.aborted
        if aborted:
            _shut(sock)


def _shut(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass  # closed already, or not a socket


#: The Abort of the request this thread is sending (``request`` sets it around the opener's call; connections read it)
_current = threading.local()


class _Abortable:
    """A handler mixin whose connections hand their socket to the running request's ``Abort``."""

    def do_open(self, http_class: Any, req: Any, **kw: Any) -> Any:
        class Connection(http_class):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                abort = getattr(_current, "abort", None)
                if abort is not None:
                    abort.track(self.sock)

        return super().do_open(Connection, req, **kw)  # type: ignore[misc]


class _HTTPHandler(_Abortable, urllib.request.HTTPHandler):
    pass


class _HTTPSHandler(_Abortable, urllib.request.HTTPSHandler):
    pass


def default_opener() -> Opener:
    """urllib's opener with redirects kept within the origin and connections an ``Abort`` can end."""
    return urllib.request.build_opener(_SameOriginRedirects(), _HTTPHandler(), _HTTPSHandler()).open


def timeout_error(timeout: float) -> ClientError:
    """No answer within the deadline: what a request that timed out and a caller that stopped waiting both say."""
    return ClientError("timeout", f"no answer within {timeout} s")


def request(
    open_: Opener,
    method: str,
    url: str,
    headers: Dict[str, str],
    body: Optional[bytes],
    timeout: float,
    deadline: Optional[float] = None,
    abort: Optional[Abort] = None,
    user_agent: str = USER_AGENT,
) -> Response:
    """One request within ``timeout`` seconds in all (connect, headers and body, as the TypeScript client's
    ``timeoutMs``), or by ``deadline`` (``time.monotonic()``) when given; returns (status, headers, parsed JSON or None)
    for every HTTP answer, raises ``Failed`` when there was none in time. urllib's own timeout bounds each socket
    operation only (and a name lookup not at all), so the body is read in chunks with the deadline checked after each:
    this thread stops at most one socket operation past the deadline. A caller that must get its answer at the
    deadline exactly waits for this function with a deadline of its own (``Client`` a thread, ``AsyncClient``
    ``asyncio.wait_for``) and, once it passes, ends it with ``abort`` (a status line or headers that drip in hold it
    otherwise: no deadline can be checked inside urllib)."""
    if deadline is None:
        deadline = time.monotonic() + timeout
    req = urllib.request.Request(url, data=body, headers={**headers, "User-Agent": user_agent}, method=method)
    _current.abort = abort
    try:
        with open_(req, timeout=max(0.001, min(timeout, deadline - time.monotonic()))) as resp:
            status, resp_headers = resp.status, resp.headers
            raw = _read(resp, deadline, timeout, abort)
    except urllib.error.HTTPError as e:
        # urllib raises for every status >= 300, a 304 Not Modified included
        status, resp_headers = e.code, e.headers
        try:
            raw = _read(e, deadline, timeout, abort)
        except Failed:
            raise  # an error body that drips past the deadline: no answer in time
        except Exception:
            raw = b""
        finally:
            e.close()
    except (OSError, http.client.HTTPException) as e:
        if abort is not None and abort.aborted:
            raise Failed(timeout_error(timeout)) from None
        # URLError is an OSError; a dropped connection mid-answer is an HTTPException (IncompleteRead, BadStatusLine)
        reason = getattr(e, "reason", e)
        # socket.timeout is TimeoutError from 3.10 on; on 3.9 it is only an OSError
        if isinstance(reason, (TimeoutError, socket.timeout)) or isinstance(e, (TimeoutError, socket.timeout)) or "timed out" in str(reason):
            raise Failed(timeout_error(timeout)) from None
        raise Failed(ClientError("network", f"request failed: {reason}")) from None
    finally:
        _current.abort = None
    parsed: Any = None
    if raw:
        try:
            parsed = loads_json(raw)
        except ValueError:
            parsed = None
    return status, resp_headers, parsed


def _read(resp: Any, deadline: float, timeout: float, abort: Optional[Abort]) -> bytes:
    """The answer's body, read in chunks of at most ``READ_CHUNK_BYTES`` (``read1``: what has arrived, never waiting to
    fill a chunk); ``Failed`` (timeout) once the deadline passes or the request was aborted (a body cut short by the
    abort is not an answer). A connection closed before the ``Content-Length`` it announced is ``IncompleteRead`` (a
    network failure, as ``read()`` raises it; ``read1`` returns ``b""`` at the end of the stream instead). An answer
    without ``read1`` (a test's opener) is read at once."""
    read1 = getattr(resp, "read1", None)
    if read1 is None:
        return resp.read()  # type: ignore[no-any-return]
    parts = []
    while True:
        if time.monotonic() >= deadline or (abort is not None and abort.aborted):
            raise Failed(timeout_error(timeout))
        chunk = read1(READ_CHUNK_BYTES)
        if not chunk:
            if abort is not None and abort.aborted:
                raise Failed(timeout_error(timeout))
            body = b"".join(parts)
            missing = getattr(resp, "length", None)
            if isinstance(missing, int) and missing > 0:
                raise http.client.IncompleteRead(body, missing)
            return body
        parts.append(chunk)


#: The longest wait a server's ``Retry-After`` imposes (10 minutes; the TypeScript client's ``MAX_RETRY_AFTER_MS``): a
#: far-off value, from a proxy or a clock set wrong, would otherwise stop the client's requests for as long, its cached
#: thresholds running out meanwhile. scoregate itself asks for seconds (a 429's 30 s, a 409's 1 s).
MAX_RETRY_AFTER_SECONDS = 600.0


def parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    """``Retry-After`` in seconds: delay-seconds (digits only, RFC 9110 10.2.3) or an HTTP date, at most
    ``MAX_RETRY_AFTER_SECONDS``; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]+", value):
        return min(MAX_RETRY_AFTER_SECONDS, float(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
        return min(MAX_RETRY_AFTER_SECONDS, max(0.0, when.timestamp() - now))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


#: A decimal number as the TypeScript client's ``Number()`` reads a directive's value (``1.5``, ``1e1``), without the
#: spellings only Python's ``float()`` takes (``1_0``, ``nan``, ``infinity``)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def parse_cache_control(value: Optional[str]) -> Dict[str, float]:
    """The three lifetimes of a ``Cache-Control`` header in seconds; directive names are case-insensitive and absent
    or malformed directives are left out."""
    out: Dict[str, float] = {}
    for part in (value or "").split(","):
        name, sep, arg = part.strip().partition("=")
        name = name.strip().lower()
        if not sep or name not in ("max-age", "stale-while-revalidate", "stale-if-error"):
            continue
        arg = arg.strip().strip('"')
        if not _DECIMAL.fullmatch(arg):
            continue
        seconds = float(arg)
        if math.isfinite(seconds) and seconds >= 0:
            out[name] = seconds
    return out


def backoff_delay(initial: float, cap: float, failures: int, random_value: float, retry_after: Optional[float]) -> float:
    """Delay before the next attempt after ``failures`` consecutive failures: exponential, capped, with equal jitter
    (half fixed, half random) so that processes failing together retry apart; never below Retry-After."""
    base = min(cap, initial * (2 ** min(max(0, failures - 1), 30)))
    delay = base / 2 + random_value * base / 2
    return max(delay, retry_after or 0.0)


DETAILS_POINTER = re.compile(r" \(see details\.\w+\)")


def server_words(body: Any) -> Tuple[Optional[str], Optional[str]]:
    """The code and message of the server's error envelope ({"error": {"code", "message"}}), each when it is a string."""
    envelope = body.get("error") if isinstance(body, dict) else None
    if not isinstance(envelope, dict):
        return None, None
    code, message = envelope.get("code"), envelope.get("message")
    # a pointer into the envelope's details (" (see details.suggestions)") is for curl: no client error carries them
    return (code if isinstance(code, str) else None), (DETAILS_POINTER.sub("", message, count=1) if isinstance(message, str) else None)


def describe_failure(status: int, body: Any, retry_after: Optional[float]) -> ClientError:
    """What a non-2xx answer means for the client, with the server's own message when it sent the error envelope."""
    code, message = server_words(body)
    said = f": {message}" if message is not None else ""
    if status == 401:
        return ClientError("unauthorized", f"401 unauthorized{said} (check the token; refreshing stopped)", status)
    if status == 403:
        return ClientError("forbidden", f"403 forbidden{said} (the token lacks the scope; refreshing stopped)", status)
    if status == 404 and code == "uncalibrated":
        return ClientError("uncalibrated", f"404 uncalibrated{said}", status)
    if status == 429:
        return ClientError("rate_limited", f"429 rate limited{said}", status, retry_after)
    if status >= 500:
        return ClientError("server_error", f"{status} {code or 'server error'}{said}", status, retry_after)
    return ClientError("bad_request", f"{status} {code or 'refused'}{said}", status, retry_after)


def auth_headers(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}
