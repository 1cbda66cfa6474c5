"""``hf-api``: the Hugging Face Inference API over REST (``../shared/contracts/hf-inference``).

``POST {base_url}/models/{model_id}`` with ``{"inputs": ..., "parameters": {...}}``. Texts are
batched on the client: one text per request by default (all the hosted router documents), or
``hf_api_batch_size`` texts per request when ``hf_api_list_inputs`` says the server takes lists
(self-hosted endpoints, ``socialpulse sentiment serve``); up to ``hf_api_concurrency`` requests
are in flight. A 503 waits ``estimated_time``, a 429 backs off (``Retry-After``/``RateLimit``),
5xx, timeouts and malformed bodies are retried; any other 4xx fails at once with a message that
says what to fix. The token (``SOCIALPULSE_HF_TOKEN``) is sent only as a header, never logged.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from socialpulse.domain.records import SentimentResult
from socialpulse.sentiment.fallback import RemoteUnavailableError
from socialpulse.sentiment.labels import UnmappableLabelError, result_from_label_scores

if TYPE_CHECKING:
    from socialpulse.config import SentimentSettings

log = logging.getLogger(__name__)

ROUTER_BASE_URL = "https://router.huggingface.co/hf-inference"
_LABEL_N = re.compile(r"^label[_\s-]?(\d+)$", re.IGNORECASE)
_RATELIMIT_RESET = re.compile(r"(?:\bt|reset)=(\d+(?:\.\d+)?)")


class HfApiError(RuntimeError):
    """The API refused the request in a way retrying cannot fix (auth, model, URL, labels)."""


class _Retryable(Exception):
    """A transient failure; ``delay`` is what the server asked us to wait, if it said."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class HfApiBackend:
    """Client of a Hugging Face-compatible text-classification endpoint.

    ``name`` is ``hf-api:<model id>``; the API does not say which revision answered, so
    ``version`` is ``remote``.
    """

    version = "remote"

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        model_id: str,
        *,
        list_inputs: bool = False,
        batch_size: int = 64,
        concurrency: int = 8,
        top_k: int = 5,
        max_attempts: int = 6,
        max_wait_s: float = 60.0,
        backoff_s: float = 0.5,
        neutral_threshold: float = 0.6,
    ) -> None:
        self._client = client
        self.url = f"{base_url.rstrip('/')}/models/{model_id}"
        self.model_id = model_id
        self.name = f"hf-api:{model_id}"
        self._list_inputs = list_inputs
        self._chunk = batch_size if list_inputs else 1
        self._top_k = top_k
        self._max_attempts = max_attempts
        self._max_wait = max_wait_s
        # Jitter spreads the retries of many workers hit by the same outage.
        self._backoff = wait_exponential(multiplier=backoff_s, max=max_wait_s) + wait_random(
            0, backoff_s
        )
        self._threshold = neutral_threshold
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="hf-api")

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Classify ``texts``; raises :class:`RemoteUnavailableError` if retries run out."""
        chunks = [list(texts[i : i + self._chunk]) for i in range(0, len(texts), self._chunk)]
        outcomes = list(self._pool.map(self._chunk_or_failure, chunks))
        results: list[SentimentResult | None] = []
        failures: list[str] = []
        for chunk, outcome in zip(chunks, outcomes, strict=True):
            if isinstance(outcome, HfApiError):
                raise outcome
            if isinstance(outcome, _Retryable):
                failures.append(str(outcome))
                results.extend([None] * len(chunk))
            else:
                results.extend(outcome)
        if failures:
            raise RemoteUnavailableError(
                f"{len(failures)} of {len(chunks)} requests to {self.url} failed after"
                f" {self._max_attempts} attempts; last: {failures[-1]}",
                results,
            )
        return [r for r in results if r is not None]

    def close(self) -> None:
        """Stop the worker threads and close the connection pool."""
        self._pool.shutdown(wait=True)
        self._client.close()

    def _chunk_or_failure(
        self, chunk: list[str]
    ) -> list[SentimentResult] | _Retryable | HfApiError:
        # Returned, not raised, so one failed chunk does not hide the others' results.
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(self._post, chunk)
        except (_Retryable, HfApiError) as err:
            return err

    def _wait(self, state: RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        if isinstance(err, _Retryable) and err.delay is not None:
            return min(max(err.delay, 0.0), self._max_wait)
        return float(self._backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        err = state.outcome.exception() if state.outcome else None
        log.warning("%s attempt %d failed (%s); retrying", self.url, state.attempt_number, err)

    def _post(self, chunk: list[str]) -> list[SentimentResult]:
        payload: dict[str, Any] = {
            "inputs": chunk if self._list_inputs else chunk[0],
            "parameters": {"top_k": self._top_k, "function_to_apply": "softmax"},
        }
        try:
            resp = self._client.post(self.url, json=payload)
        except httpx.TransportError as err:  # timeouts, refused and reset connections
            raise _Retryable(f"{type(err).__name__}: {err}") from err
        status = resp.status_code
        if status == 200:
            try:
                per_text = _normalise(resp.json(), len(chunk), self._list_inputs)
            except ValueError as err:  # JSON errors are ValueErrors too
                raise _Retryable(f"malformed 200 body: {err}") from err
            try:
                return [
                    result_from_label_scores(
                        pairs, _num_labels(pairs), self._threshold, self.name, self.version
                    )
                    for pairs in per_text
                ]
            except UnmappableLabelError as err:
                raise HfApiError(f"{self.url}: {err}") from err
        if status == 503:
            raise _Retryable(f"503 {_error_text(resp)}", _estimated_time(resp))
        if status == 429:
            raise _Retryable("429 Too Many Requests", _retry_after(resp))
        if status >= 500:
            raise _Retryable(f"{status} {_error_text(resp)}")
        raise HfApiError(_refusal(self.url, resp))


def _normalise(body: Any, n: int, list_inputs: bool) -> list[list[tuple[str, float]]]:
    """Label/score pairs per input text, from either response shape in the contract.

    The hosted API answers one string with ``[[{label, score}, ...]]``; a local transformers
    pipeline answers ``[{label, score}, ...]``; a list of n strings gives n such lists.
    """
    if not isinstance(body, list) or not body:
        raise ValueError(f"expected a non-empty JSON list, got {str(body)[:200]!r}")
    if all(isinstance(x, dict) for x in body):
        if n != 1:
            raise ValueError(f"expected {n} lists of label/score pairs, got one flat list")
        groups: list[Any] = [body]
    elif all(isinstance(x, list) for x in body):
        groups = body
    else:
        raise ValueError("mixed list of lists and objects")
    if len(groups) != n:
        raise ValueError(f"expected {n} results, got {len(groups)}")
    return [_pairs(g) for g in groups]


def _pairs(group: Any) -> list[tuple[str, float]]:
    if not isinstance(group, list) or not group:
        raise ValueError("empty label/score list")
    pairs: list[tuple[str, float]] = []
    for item in group:
        label = item.get("label") if isinstance(item, dict) else None
        score = item.get("score") if isinstance(item, dict) else None
        if (
            not isinstance(label, str)
            or isinstance(score, bool)
            or not isinstance(score, int | float)
            or not math.isfinite(score)
            or not 0.0 <= score <= 1.0 + 1e-6
        ):
            raise ValueError(f"bad label/score pair {str(item)[:200]!r}")
        pairs.append((label, float(score)))
    return pairs


def _num_labels(pairs: list[tuple[str, float]]) -> int:
    # LABEL_n names need the class count; a top-k answer may leave some out.
    indexes = [int(m.group(1)) for label, _ in pairs if (m := _LABEL_N.match(label.strip()))]
    return max([len(pairs), *(i + 1 for i in indexes)])


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _error_text(resp: httpx.Response) -> str:
    body = _json(resp)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            err = err.get("message")
        if err:
            return str(err)[:500]
    return resp.text[:500]


def _estimated_time(resp: httpx.Response) -> float | None:
    body = _json(resp)
    value = body.get("estimated_time") if isinstance(body, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is not None:
        try:
            return float(value)
        except ValueError:
            pass  # an HTTP date: fall through to RateLimit, then to exponential back-off
    if m := _RATELIMIT_RESET.search(resp.headers.get("RateLimit", "")):
        return float(m.group(1))
    return None


def _refusal(url: str, resp: httpx.Response) -> str:
    status = resp.status_code
    detail = _error_text(resp)
    hint = {
        400: "the model is not served for this task by any enabled provider; check"
        " SOCIALPULSE_HF_API_MODEL",
        401: "the token is missing or invalid; set SOCIALPULSE_HF_TOKEN",
        403: "the token lacks the 'Make calls to Inference Providers' permission",
        404: "no such model or path; check SOCIALPULSE_HF_API_MODEL and"
        " SOCIALPULSE_HF_API_BASE_URL",
        410: "this host is retired; set SOCIALPULSE_HF_API_BASE_URL=" + ROUTER_BASE_URL,
    }.get(status, "the request was refused; retrying will not help")
    return f"{url} answered {status} ({detail}): {hint}"


def build(settings: SentimentSettings) -> HfApiBackend:
    """The remote backend under these settings (``base`` adds the ``remote_fallback`` wrapper)."""
    headers = {"User-Agent": "socialpulse"}
    if settings.hf_token is not None:
        headers["Authorization"] = f"Bearer {settings.hf_token.get_secret_value()}"
    client = httpx.Client(
        headers=headers,
        timeout=settings.hf_api_timeout_s,
        limits=httpx.Limits(
            max_connections=settings.hf_api_concurrency,
            max_keepalive_connections=settings.hf_api_concurrency,
        ),
    )
    return HfApiBackend(
        client,
        settings.hf_api_base_url,
        settings.hf_api_model,
        list_inputs=settings.hf_api_list_inputs,
        batch_size=settings.hf_api_batch_size,
        concurrency=settings.hf_api_concurrency,
        top_k=settings.hf_api_top_k,
        max_attempts=settings.hf_api_max_attempts,
        max_wait_s=settings.hf_api_max_wait_s,
        backoff_s=settings.hf_api_backoff_s,
        neutral_threshold=settings.hf_neutral_threshold,
    )
