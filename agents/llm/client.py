"""The prompted-LLM baseline's HTTP client: any OpenAI-compatible chat completions endpoint solves tasks.

The agent sends `xlogo_gym.prompt.task_prompt(task)` (optionally with a PNG of the task for vision
models) to `POST {base_url}/chat/completions` (OpenAI, vLLM, llama.cpp, Ollama, ...) and pulls the
program out of the free-form reply with `agents.llm.extract.extract_program`. Replies are cached on
disk (one JSON file per request, keyed by the sha256 of model + request payload), so a rerun makes
no request.
Requests run concurrently on a thread pool and are retried with exponential backoff and jitter on
timeouts, connection errors, HTTP 429 (honouring `Retry-After`) and 5xx. Nothing raises at run
time (unless `stop_if_unreachable` is on, see `LLMAgent`): every problem becomes an `AgentFailure`
candidate whose `reason` starts with a category

| category             | meaning                                                        |
|----------------------|----------------------------------------------------------------|
| `timeout`            | no reply within `timeout` seconds, on every attempt            |
| `connection_error`   | the server could not be reached, on every attempt              |
| `http_error`         | an HTTP error status (after retries for 429/5xx) or an API error |
| `malformed_response` | the body is not the chat completions JSON                      |
| `empty_reply`        | no choices, or a choice without text                           |
| `no_program`         | the reply holds no program (`raw` keeps the reply)             |

so a report can count them with `reason.split(":")[0]`.

Example against a local server (see `examples/llm_baseline.py`)::

    agent = LLMAgent("Qwen/Qwen2.5-7B-Instruct", base_url="http://localhost:8000/v1")
    candidates = agent.propose(tasks, samples=1)
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import logging
import os
import random
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from agents.llm.config import DEFAULT_BASE_URL, LLMConfig, default_cache_dir
from agents.llm.extract import extract_program
from xlogo_gym import __version__
from xlogo_gym.errors import XLogoError
from xlogo_gym.evaluation import Agent, AgentFailure, Candidate
from xlogo_gym.fileio import write_atomic
from xlogo_gym.program import Program
from xlogo_gym.progress import progress_bar
from xlogo_gym.prompt import task_prompt
from xlogo_gym.task import Task

log = logging.getLogger(__name__)

#: Statuses worth another try: rate limits and server-side failures.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
IMAGE_NOTE = "An image of the task is attached."


class LLMAgent(Agent):
    """Solve tasks by prompting a chat model behind an OpenAI-compatible endpoint.

    model: model name sent in each request (also part of the cache key).
    base_url: API root, e.g. `http://localhost:8000/v1` (vLLM), `http://localhost:8080/v1`
        (llama.cpp), `http://localhost:11434/v1` (Ollama), `https://api.openai.com/v1`.
    api_key_env: environment variable holding the API key; unset means no Authorization header.
    temperature, max_tokens, seed: sampling parameters. Request j of a task sends `seed + j`,
        so repeated draws differ (and are cached apart) while reruns are reproducible.
    timeout: seconds to wait for the server on each attempt.
    max_retries: extra attempts after a timeout, connection error, 429 or 5xx.
    backoff, max_backoff: the delay before retry k is about `backoff * 2**k` seconds (with
        jitter, at most `max_backoff`); a `Retry-After` header takes precedence.
    concurrency: requests in flight at once.
    vision: attach a PNG of the task (`xlogo_gym.rendering.render_rgb`) for vision models.
    description: put the task's free-text description in the prompt too (`task_prompt`).
    use_n: ask for several samples in one request (`n`); servers that return fewer choices
        are topped up with further requests. False always sends one-sample requests.
    cache: read and write the reply cache; cache_dir: where (default `default_cache_dir()`).
    system_prompt: optional system message (some chat templates reject system messages).
    extra_body: extra request fields, e.g. `{"chat_template_kwargs": {"enable_thinking": False}}`.
    progress: show a progress bar in `propose`.
    stop_if_unreachable: raise XLogoError naming the URL when every request of a `propose` call
        failed to connect and no request has reached the server before (`xlogo-gym evaluate` turns
        it on: a run without a server measures nothing, so it writes no report).
    """

    def __init__(self, model: str, base_url: str = DEFAULT_BASE_URL, api_key_env: str = LLMConfig.api_key_env,
                 temperature: float = LLMConfig.temperature, max_tokens: int = LLMConfig.max_tokens, seed: int = 0,
                 timeout: float = LLMConfig.timeout, max_retries: int = LLMConfig.max_retries, backoff: float = 1.0,
                 max_backoff: float = 60.0, concurrency: int = LLMConfig.concurrency, vision: bool = LLMConfig.vision,
                 description: bool = LLMConfig.task_description, use_n: bool = True, cache: bool = LLMConfig.cache,
                 cache_dir: str | Path | None = None,
                 system_prompt: str | None = None, extra_body: dict[str, Any] | None = None,
                 progress: bool = True, stop_if_unreachable: bool = False) -> None:
        if not model:
            raise XLogoError("an LLM agent needs a model name", "model")
        if concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise XLogoError(f"need concurrency >= 1, max_retries >= 0 and timeout > 0, got {concurrency}, "
                             f"{max_retries} and {timeout}", "llm agent")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.url = self.base_url if self.base_url.endswith("/chat/completions") else self.base_url + "/chat/completions"
        self.api_key_env = api_key_env
        self.temperature, self.max_tokens, self.seed = temperature, max_tokens, seed
        self.timeout, self.max_retries, self.backoff, self.max_backoff = timeout, max_retries, backoff, max_backoff
        self.concurrency, self.vision, self.description, self.use_n = concurrency, vision, description, use_n
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.cache = cache
        self.system_prompt, self.extra_body, self.progress = system_prompt, dict(extra_body or {}), progress
        self.stop_if_unreachable = stop_if_unreachable
        self.reached = False  # whether any request got an answer (of any status) from the server
        self.name = f"llm:{model}" + ("+vision" if vision else "")
        self._render: Callable[[Task], Any] | None = None
        if vision:
            try:
                import PIL.Image  # noqa: F401  (fail now, not on the first task)

                from xlogo_gym.rendering import render_rgb
            except ImportError as err:
                raise ImportError(f"vision=True needs xlogo_gym.rendering and pillow ({err}); "
                                  "install them with `pip install xlogo-gym[render]`") from err
            self._render = render_rgb
        self._opener = urllib.request.build_opener()
        self._rng = random.Random()

    # -- the agent interface --------------------------------------------------------------------------
    def solve(self, task: Task, samples: int = 1) -> list[Candidate]:
        return self.propose([task], samples)[0]

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        """`samples` candidates per task: Programs, or AgentFailures saying what went wrong."""
        if samples > 1 and self.temperature == 0:
            log.warning("%s: %d samples at temperature 0 will mostly repeat each other", self.name, samples)
        results: list[list[Candidate]] = [[] for _ in tasks]
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="llm")
        try:
            futures: dict[Future[list[Candidate]], int] = {
                pool.submit(self._sample, self.messages(task), samples): i for i, task in enumerate(tasks)}
            for future in progress_bar(as_completed(futures), total=len(futures), desc=self.name, unit="task",
                                       disable=not self.progress):
                results[futures[future]] = future.result()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        failures = Counter(c.reason.split(":")[0] for cands in results for c in cands if isinstance(c, AgentFailure))
        total = sum(len(cands) for cands in results)
        if self.stop_if_unreachable and not self.reached and total and failures["connection_error"] == total:
            first = next(c for cands in results for c in cands if isinstance(c, AgentFailure))
            reason = first.reason.removeprefix("connection_error: ")
            raise XLogoError(f"could not connect to {self.url}: all {total} requests failed ({reason}); start the "
                             "server, or give its URL with llm:MODEL@URL or --base-url", self.name)
        if failures:
            log.warning("%s: %d of %d candidates failed (%s)", self.name, sum(failures.values()),
                        len(tasks) * samples, ", ".join(f"{k} {n}" for k, n in failures.most_common()))
        return results

    # -- requests -------------------------------------------------------------------------------------
    def messages(self, task: Task) -> list[dict[str, Any]]:
        """The chat messages for one task: the text prompt, plus the image when `vision` is on."""
        prompt = task_prompt(task, description=self.description)
        content: Any = prompt
        if self._render is not None:
            content = [{"type": "text", "text": f"{prompt}\n{IMAGE_NOTE}"},
                       {"type": "image_url", "image_url": {"url": png_data_url(self._render(task))}}]
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*system, {"role": "user", "content": content}]

    def payload(self, messages: list[dict[str, Any]], n: int = 1, draw: int = 0) -> dict[str, Any]:
        """The request body for `n` samples; `draw` numbers the requests made for one task."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature,
                                "max_tokens": self.max_tokens, "seed": self.seed + draw}
        if n > 1:
            body["n"] = n
        return {**body, **self.extra_body}

    def _sample(self, messages: list[dict[str, Any]], samples: int) -> list[Candidate]:
        """Draw `samples` candidates: one request with n, topped up while the server returns fewer."""
        out: list[Candidate] = []
        for draw in range(samples):  # every successful request adds at least one choice
            need = samples - len(out)
            if need == 0:
                break
            response = self.complete(self.payload(messages, need if self.use_n else 1, draw))
            if isinstance(response, AgentFailure):
                return out + [response] * need
            out += [_candidate(choice) for choice in response["choices"][:need]]
        return out

    def cache_key(self, payload: dict[str, Any]) -> str:
        blob = json.dumps({"model": self.model, "url": self.url, "request": payload}, sort_keys=True,
                          separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def complete(self, payload: dict[str, Any]) -> dict[str, Any] | AgentFailure:
        """The chat completions response for `payload`, from the cache or the server."""
        key = self.cache_key(payload)
        path = self.cache_dir / f"{key}.json"
        if self.cache and path.is_file():
            try:
                with open(path, encoding="utf-8") as fh:
                    return json.load(fh)["response"]
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:
                log.warning("ignoring unreadable cache file %s (%s)", path, err)
        response = self._post(payload)
        if isinstance(response, AgentFailure):  # an error body may echo the key; it goes into reports
            secrets = [os.environ.get(self.api_key_env, "")] if self.api_key_env else []
            return AgentFailure(redact(response.reason, secrets), redact(response.raw, secrets))
        if self.cache:
            self._cache_write(path, {"model": self.model, "request": payload, "response": response})
        return response

    def _post(self, payload: dict[str, Any]) -> dict[str, Any] | AgentFailure:
        """POST with retries; failures come back as AgentFailure, never as exceptions."""
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": f"xlogo-gym/{__version__}"}
        api_key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(payload).encode(), headers=headers, method="POST")
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            retry_after = None
            try:
                with self._opener.open(request, timeout=self.timeout) as reply:
                    self.reached = True
                    raw = reply.read()
            except urllib.error.HTTPError as err:
                self.reached = True
                detail = _error_detail(err)
                failure = AgentFailure(f"http_error: HTTP {err.code} {detail[:200]}", detail)
                if err.code not in RETRY_STATUSES:
                    return failure
                retry_after = _retry_after(err.headers.get("Retry-After"))
            except TimeoutError:
                failure = AgentFailure(f"timeout: no reply within {self.timeout:g} s")
            except urllib.error.URLError as err:
                if isinstance(err.reason, TimeoutError):
                    failure = AgentFailure(f"timeout: no reply within {self.timeout:g} s")
                else:
                    failure = AgentFailure(f"connection_error: {err.reason}")
            except (http.client.HTTPException, OSError) as err:
                failure = AgentFailure(f"connection_error: {type(err).__name__}: {err}")
            else:
                return _decode(raw)
            if attempt + 1 < attempts:
                delay = self._delay(attempt, retry_after)
                log.debug("%s: %s; retry %d/%d in %.2f s", self.name, failure.reason, attempt + 1,
                          self.max_retries, delay)
                time.sleep(delay)
        return AgentFailure(f"{failure.reason} ({attempts} attempt{'s' if attempts > 1 else ''})", failure.raw)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        base = min(self.max_backoff, self.backoff * 2 ** attempt)
        return base / 2 + self._rng.uniform(0, base / 2)

    def _cache_write(self, path: Path, record: dict[str, Any]) -> None:
        """Write atomically (temp file + rename); a cache that cannot be written only logs a warning."""
        try:
            write_atomic(path, json.dumps(record))
        except OSError as err:
            log.warning("cannot write the LLM cache file %s (%s)", path, err)


def png_data_url(rgb: Any) -> str:
    """A `data:image/png;base64,...` URL of an (H, W, 3) uint8 array."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_BEARER = re.compile(r"(Bearer\s+)[^\s\"',;]+", re.IGNORECASE)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` with each of `secrets` (an API key) and any `Bearer` token replaced by `[redacted]`."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _BEARER.sub(r"\1[redacted]", text)


def _error_detail(err: urllib.error.HTTPError) -> str:
    try:
        body = err.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        body = ""
    return f"{err.reason}: {body}".strip() if body else str(err.reason)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number; HTTP dates are ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _decode(raw: bytes) -> dict[str, Any] | AgentFailure:
    """Check that a 200 body is a chat completions response with at least one choice."""
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError as err:
        return AgentFailure(f"malformed_response: not JSON ({err})", text)
    if not isinstance(body, dict):
        return AgentFailure("malformed_response: the body is not a JSON object", text)
    if "error" in body and not body.get("choices"):
        return AgentFailure(f"http_error: API error {str(body['error'])[:200]}", text)
    choices = body.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        return AgentFailure("malformed_response: no list of choices", text)
    if not choices:
        return AgentFailure("empty_reply: the response has no choices", text)
    return body


def _candidate(choice: dict[str, Any]) -> Candidate:
    """A Program from one choice, or an AgentFailure (empty reply, no program in it)."""
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    if not isinstance(content, str) or not content.strip():
        return AgentFailure("empty_reply: the reply has no text", json.dumps(choice)[:2000])
    text = extract_program(content)
    if text is None:
        cut = " (cut off at max_tokens)" if choice.get("finish_reason") == "length" else ""
        return AgentFailure(f"no_program: no program found in the reply{cut}", content)
    return Program.parse(text)


def make_llm_agent(spec: str, **kw: Any) -> LLMAgent:
    """Build the agent from `llm:MODEL` or `llm:MODEL@http://host:port/v1` and LLMAgent keywords.

    Keywords that are None count as not given. A model or URL given both in the spec and as a
    keyword must agree. Model names may contain ':' (Ollama tags such as `llm:qwen2.5:7b`).
    """
    kind, _, rest = spec.partition(":")
    if kind != "llm":
        raise XLogoError(f"not an LLM agent spec: {spec!r} (expected llm:MODEL or llm:MODEL@URL)", "agent")
    model, at, url = rest.rpartition("@")
    if not at or not url.startswith(("http://", "https://")):
        model, url = rest, ""
    options = {k: v for k, v in kw.items() if v is not None}
    for key, value in (("model", model), ("base_url", url)):
        if value and options.setdefault(key, value) != value:
            raise XLogoError(f"{key} {options[key]!r} contradicts the agent spec {spec!r}", "agent")
    if not options.get("model"):
        raise XLogoError(f"no model in {spec!r}: use llm:MODEL or --model", "agent")
    return LLMAgent(**options)
