"""An OpenAI-compatible ``POST {endpoint}/embeddings``: the call and what its answer must be.

The endpoint is another program on another machine, so nothing it answers is taken on trust:
an answer becomes vectors only when it is a list of one flat list of numbers per text, all of
one size. Anything else is one `error:` line (a `warning:` for a query), never a crash: before,
an answer of the right JSON but the wrong shape (a number for a vector, bare lists) escaped as
an IndexError or AttributeError, exit 3 (QA round 25a: 03). Vectors are checked to be finite
here, where they are read: the exact kNN trusts every stored vector (`knn.py`).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gitext.errors import AircherError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

RETRIES = 3  # more asks after a rate limit (HTTP 429) before the call fails


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow: a 30x is answered as the HTTP error it is.

    urllib follows a redirect to any host with every header of the request, the key's
    `Authorization` among them (curl, requests and httpx drop it for another host): a moved
    service, a captive portal or a proxy got the key from credentials.toml, and its answer was
    read as the endpoint's (QA round 25a: 02). The key is for the configured endpoint only, and
    a redirect of a POST is rarely meant anyway (302 and 303 turn it into a GET)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(endpoint: str, body: dict[str, Any], api_key: str | None, timeout: float,
         retry_wait: float = 10.0) -> Any:
    """The JSON answer of ``POST {endpoint}/embeddings``.

    `timeout` (storage.embeddings.endpoint_timeout) bounds each wait: connecting, then each
    read. An endpoint that takes the connection and never answers cost every query a fixed
    30 s before (QA round 25a: 06).

    A rate limit (429, or 503 with Retry-After) is asked again up to RETRIES times, after the
    pause its Retry-After names, else 1, 2, 4 s, and never more than `retry_wait`
    (storage.embeddings.endpoint_retry_wait): hosted APIs answer 429 when a quota is hit for a
    moment, and their own clients retry; before, the first 429 failed the update (QA round
    25a: 05)."""
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json",
               **({"Authorization": f"Bearer {api_key}"} if api_key else {})}
    for attempt in range(RETRIES + 1):
        request = urllib.request.Request(endpoint + "/embeddings", data=data, method="POST",
                                         headers=headers)
        try:
            return _ask(endpoint, request, timeout)
        except urllib.error.HTTPError as exc:
            pause = _retry_after(exc, attempt)
            exc.close()
            if pause is None or attempt == RETRIES:
                raise _refused(endpoint, exc) from exc
            time.sleep(min(pause, retry_wait))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _retry_after(exc: urllib.error.HTTPError, attempt: int) -> float | None:
    """Seconds to wait before asking again; None when the answer is not worth a retry."""
    named = exc.headers.get("Retry-After") if exc.headers is not None else None
    if exc.code != 429 and not (exc.code == 503 and named):
        return None  # a 503 without it is an endpoint down, which a query must not wait for
    if named:
        named = named.strip()
        if named.isdigit():
            return float(named)
        with contextlib.suppress(TypeError, ValueError, IndexError):
            when = email.utils.parsedate_to_datetime(named)
            return max(0.0, when.timestamp() - time.time())
    return float(2**attempt)


def _ask(endpoint: str, request: urllib.request.Request, timeout: float) -> Any:
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError:
        raise  # an answer: the caller decides on it
    except (TimeoutError, urllib.error.URLError) as exc:
        if not isinstance(exc, TimeoutError) and not isinstance(exc.reason, TimeoutError):
            raise AircherError(f"embedding endpoint {endpoint} failed: {exc}") from exc
        # Named in the message: a query shows it as its warning line, without the hint.
        raise AircherError(
            f"embedding endpoint {endpoint} did not answer within {timeout:g}s"
            " (storage.embeddings.endpoint_timeout)",
            hint="allow it more: `git aircher config set storage.embeddings.endpoint_timeout"
            " 60s`") from exc
    except (OSError, ValueError) as exc:
        raise AircherError(f"embedding endpoint {endpoint} failed: {exc}") from exc


def _refused(endpoint: str, exc: urllib.error.HTTPError) -> AircherError:
    if 300 <= exc.code < 400:
        where = exc.headers.get("Location") if exc.headers is not None else None
        return AircherError(
            f"embedding endpoint {endpoint} answered {exc.code}, a redirect"
            f"{f' to {where}' if where else ''}: not followed, the API key is for the"
            " configured endpoint only",
            hint="if the endpoint moved, set storage.embeddings.endpoint to its new URL")
    if exc.code in (401, 403):
        hint = "check api_key under [openai] in credentials.toml"
    elif exc.code == 429 or exc.code >= 500:
        # Nothing wrong with the URL or the key; what came before the failure is kept.
        hint = ("the endpoint is rate-limited or failing for now: `git aircher index` later"
                " asks for the vectors still missing")
    else:
        hint = "check storage.embeddings.endpoint and api_key in credentials.toml"
    return AircherError(f"embedding endpoint {endpoint} answered {exc.code}", hint=hint)


def vectors(endpoint: str, payload: Any, count: int) -> npt.NDArray[np.float32]:
    """The ``count`` vectors of an answer, in the order of the texts sent (not yet unit length)."""
    import numpy as np

    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise _unexpected(endpoint, 'no "data" list')
    if len(data) != count:
        raise AircherError(f"embedding endpoint {endpoint}: {len(data)} vectors for {count} texts")
    if not all(isinstance(item, dict) and isinstance(item.get("embedding"), list)
               and isinstance(item.get("index", 0), int) for item in data):
        raise _unexpected(endpoint, 'an item that is not {"index": N, "embedding": [...]}')
    items: Sequence[dict[str, Any]] = sorted(data, key=lambda item: item.get("index", 0))
    try:
        # A number past float32 becomes infinite, refused below, not warned about on stderr.
        with np.errstate(over="ignore", invalid="ignore"):
            matrix = np.array([item["embedding"] for item in items], dtype=np.float32)
    except (TypeError, ValueError) as exc:  # ragged rows, or something not a number in one
        raise _unexpected(endpoint, "vectors that are not lists of numbers of one size") from exc
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise _unexpected(endpoint, "vectors that are not flat lists of numbers")
    # NaN, null and Infinity (JSON as Python and many servers write it) stored as they came
    # matched nothing in vector search, and their rows marked the blob as embedded, so no later
    # update asked again (QA round 25a: 01). Refused, the blob stays to embed.
    if not np.isfinite(matrix).all():
        raise AircherError(f"embedding endpoint {endpoint}: answered vectors holding NaN, null"
                           " or infinite numbers", hint="the vectors are asked for again at"
                           " the next `git aircher index`")
    return matrix


def _unexpected(endpoint: str, what: str) -> AircherError:
    return AircherError(f"embedding endpoint {endpoint}: unexpected answer ({what})",
                        hint="check that storage.embeddings.endpoint is an OpenAI-compatible"
                        " API (the URL before /embeddings)")
