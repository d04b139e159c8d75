"""An OpenAI-compatible ``POST {endpoint}/embeddings``: the call and what its answer must be.

The endpoint is another program on another machine, so nothing it answers is taken on trust:
an answer becomes vectors only when it is a list of one flat list of numbers per text, all of
one size. Anything else is one `error:` line (a `warning:` for a query), never a crash: before,
an answer of the right JSON but the wrong shape (a number for a vector, bare lists) escaped as
an IndexError or AttributeError, exit 3 (QA round 25a: 03). Vectors are checked to be finite
here, where they are read: the exact kNN trusts every stored vector (`knn.py`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gitext.errors import AircherError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


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


def post(endpoint: str, body: dict[str, Any], api_key: str | None, timeout: float) -> Any:
    """The JSON answer of ``POST {endpoint}/embeddings``.

    `timeout` (storage.embeddings.endpoint_timeout) bounds each wait: connecting, then each
    read. An endpoint that takes the connection and never answers cost every query a fixed
    30 s before (QA round 25a: 06)."""
    request = urllib.request.Request(
        endpoint + "/embeddings", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {api_key}"} if api_key else {})},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise _refused(endpoint, exc) from exc
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
    return AircherError(
        f"embedding endpoint {endpoint} answered {exc.code}",
        hint="check storage.embeddings.endpoint and api_key in credentials.toml")


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
