"""Services reached over HTTP with JSON, declared in YAML (see http_spec) rather than coded one by one.

The spec names the base URL, how to authenticate (the *name* of a secret, looked up in the secrets given to the
connector: the spec itself holds none), and per collection how to find records by a field, update one and delete
one. Finding is batched when the service accepts several values in one parameter, else one call per value; calls
run on a bounded pool of threads. Errors name the system, the method, the URL template and the status; never a
secret, nor the identity values in the URL.

Services have no transactions: `transaction()` is a no-op, and each call takes effect when it returns.
"""

from __future__ import annotations

import contextlib
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, model_validator

from privet.connectors.http_spec import (
    BasicAuth,
    BearerAuth,
    CursorPages,
    HeaderAuth,
    HttpCollection,
    HttpSpec,
    LinkPages,
    PagePages,
    Read,
    Write,
)
from privet.fulfilment.ports import Column, ConnectorError, Row, Update, batched, distinct, plain

T = TypeVar("T")
R = TypeVar("R")


class HttpConnector:
    batch_records: int | None = 50_000

    def __init__(
        self,
        system: str,
        spec: HttpSpec,
        secrets: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = system
        self.spec = spec
        headers = dict(spec.headers)
        auth: httpx.Auth | None = None
        if isinstance(spec.auth, BearerAuth):
            headers["Authorization"] = f"Bearer {self._secret(secrets, spec.auth.token)}"
        elif isinstance(spec.auth, HeaderAuth):
            headers[spec.auth.header] = self._secret(secrets, spec.auth.value)
        elif isinstance(spec.auth, BasicAuth):
            auth = httpx.BasicAuth(spec.auth.username, self._secret(secrets, spec.auth.password))
        self._origin = _origin(spec.base_url)
        self._client = httpx.Client(
            base_url=spec.base_url,
            headers=headers,
            auth=auth,
            timeout=spec.timeout,
            transport=transport,
            follow_redirects=False,  # a redirect elsewhere would carry the credentials along
        )

    def __repr__(self) -> str:
        return f"HttpConnector({self.name!r}, {self.spec.base_url!r})"

    def describe(self, collection: str) -> dict[str, Column] | None:
        found = self.spec.collections.get(collection)
        return None if found is None else {n: Column(n, t) for n, t in found.fields.items()}

    def select(
        self, collection: str, field: str, values: Sequence[Any], columns: Sequence[str] | None = None
    ) -> list[Row]:
        spec = self._collection(collection)
        self._check(collection, spec, [field, *(columns or ())])
        read = spec.read.get(field)
        if read is None:
            raise ConnectorError(f"{self.name}: collection {collection!r} cannot be searched by {field!r}")
        chunks = list(batched(list(dict.fromkeys(values)), read.batch))
        rows: list[Row] = []
        for found in self._each(chunks, lambda chunk: self._read(read, field, chunk)):
            rows += found if columns is None else [{c: r.get(c) for c in columns} for r in found]
        return rows

    def count(self, collection: str, field: str, values: Sequence[Any]) -> int:
        return len(self.select(collection, field, values))

    def update(self, collection: str, key_field: str, updates: Sequence[Update]) -> int:
        spec = self._collection(collection)
        self._check(collection, spec, [key_field, *(n for u in updates for n in u.values)])
        write = self._write(collection, spec, spec.update, key_field, "update")
        changes = [u for u in updates if u.values]
        if write.batch == 1:
            return sum(self._each(changes, lambda u: self._call(write, u.key, body=_wrap(write, dict(u.values)))))
        rows = [[{key_field: u.key, **u.values} for u in chunk] for chunk in batched(changes, write.batch)]
        return sum(self._each(rows, lambda chunk: self._call(write, None, body=_wrap(write, chunk), rows=len(chunk))))

    def update_all(self, collection: str, key_field: str, keys: Sequence[Any], values: Mapping[str, Any]) -> int:
        return self.update(collection, key_field, [Update(k, values) for k in distinct(keys)])

    def delete(self, collection: str, key_field: str, keys: Sequence[Any]) -> int:
        keys = plain(keys)
        spec = self._collection(collection)
        self._check(collection, spec, [key_field])
        write = self._write(collection, spec, spec.delete, key_field, "delete")
        unique = list(dict.fromkeys(keys))
        if write.batch == 1:
            return sum(self._each(unique, lambda key: self._call(write, key)))
        chunks = list(batched(unique, write.batch))
        return sum(
            self._each(chunks, lambda chunk: self._call(write, None, params=_params(write, chunk), rows=len(chunk)))
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A no-op: each call to the service takes effect on its own."""
        yield

    def close(self) -> None:
        self._client.close()

    def _read(self, read: Read, field: str, chunk: Sequence[Any]) -> list[Row]:
        path = read.path.replace("{value}", quote(str(chunk[0]), safe="")) if "{value}" in read.path else read.path
        params: dict[str, Any] = _params(read, chunk) if read.param else {}
        pages = read.pagination
        if isinstance(pages, PagePages):
            params[pages.param] = pages.first
            if pages.size_param:
                params[pages.size_param] = pages.size
        url: str | None = path
        records: list[Row] = []
        for _ in range(self.spec.max_pages):
            assert url is not None
            response = self._send("GET", read.path, url, params=params, missing_ok="{value}" in read.path)
            if response is None:
                return []
            body = self._json(response, read.path)
            page = self._records(_at(body, read.records), read.path)
            records += page
            if isinstance(pages, PagePages):
                if not page or (pages.size_param and len(page) < pages.size):
                    break
                params[pages.param] += 1
            elif isinstance(pages, CursorPages):
                cursor = _at(body, pages.next)
                if cursor in (None, ""):
                    break
                params[pages.param] = cursor
            elif isinstance(pages, LinkPages):
                url = self._next_link(response, body, pages, read.path)
                params = {}  # the link carries its own query
                if url is None:
                    break
            else:
                break
        else:
            raise ConnectorError(f"{self.name}: GET {read.path} has more than {self.spec.max_pages} pages")
        # Guard against a service that ignores an unknown parameter and answers with everyone.
        wanted = {str(v) for v in chunk}
        return [r for r in records if field not in r or str(r[field]) in wanted]

    def _next_link(self, response: httpx.Response, body: Any, pages: LinkPages, template: str) -> str | None:
        target = _at(body, pages.next) if pages.next else response.links.get("next", {}).get("url")
        if not target:
            return None
        absolute = urljoin(str(response.url), str(target))
        if _origin(absolute) != self._origin:  # the credentials go to the declared service only
            raise ConnectorError(f"{self.name}: GET {template} links its next page to another site")
        return absolute

    def _call(
        self, write: Write, key: Any, *, body: Any = None, params: Mapping[str, Any] | None = None, rows: int = 1
    ) -> int:
        url = write.path if key is None else write.path.replace("{key}", quote(str(key), safe=""))
        response = self._send(write.method, write.path, url, json=body, params=params, missing_ok=key is not None)
        if response is None:
            return 0  # no such row
        if write.changed is not None:
            changed = _at(self._json(response, write.path), write.changed)
            return int(changed) if isinstance(changed, int | float | str) else 0
        return rows

    def _send(
        self,
        method: str,
        template: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        what = f"{self.name}: {method} {template}"
        try:
            response = self._client.request(method, url, params=params or None, json=json)
        except httpx.TimeoutException as exc:
            raise ConnectorError(f"{what} timed out after {self.spec.timeout:g} s") from exc
        except httpx.HTTPError as exc:  # the message would hold the URL, and so the identity values
            raise ConnectorError(f"{what} failed: {type(exc).__name__}") from exc
        if response.status_code == 404 and missing_ok:
            return None
        if response.is_error or response.is_redirect:
            raise ConnectorError(f"{what} answered HTTP {response.status_code} {response.reason_phrase}".rstrip())
        return response

    def _each(self, items: Sequence[T], call: Callable[[T], R]) -> list[R]:
        if len(items) <= 1 or self.spec.concurrency == 1:
            return [call(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.spec.concurrency, len(items))) as pool:
            return list(pool.map(call, items))

    def _collection(self, collection: str) -> HttpCollection:
        found = self.spec.collections.get(collection)
        if found is None:
            raise ConnectorError(f"{self.name}: there is no collection {collection!r} in the service spec")
        return found

    def _check(self, collection: str, spec: HttpCollection, names: Sequence[str]) -> None:
        missing = [n for n in dict.fromkeys(names) if spec.fields and n not in spec.fields]
        if missing:
            raise ConnectorError(
                f"{self.name}: collection {collection!r} has no column {', '.join(map(repr, missing))}"
            )

    def _write(self, collection: str, spec: HttpCollection, write: Write | None, key_field: str, verb: str) -> Write:
        if write is None:
            raise ConnectorError(f"{self.name}: the service spec says no way to {verb} {collection!r}")
        if key_field != spec.key:
            raise ConnectorError(f"{self.name}: {collection!r} rows are addressed by {spec.key!r}, not {key_field!r}")
        if write.batch > 1 and write.method == "DELETE" and write.param is None:
            raise ConnectorError(f"{self.name}: a batched delete of {collection!r} needs the query parameter `param`")
        return write

    def _json(self, response: httpx.Response, template: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ConnectorError(f"{self.name}: {response.request.method} {template} did not answer JSON") from exc

    def _records(self, found: Any, template: str) -> list[Row]:
        if found is None:
            return []
        if isinstance(found, Mapping):
            return [dict(found)]
        if isinstance(found, list) and all(isinstance(r, Mapping) for r in found):
            return [dict(r) for r in found]
        raise ConnectorError(f"{self.name}: GET {template}: the records are neither an object nor a list of objects")

    def _secret(self, secrets: Mapping[str, str], name: str) -> str:
        value = secrets.get(name)
        if not value:
            raise ConnectorError(f"{self.name}: the secret {name!r} is not set")
        return value


def _params(spec: Read | Write, values: Sequence[Any]) -> dict[str, Any]:
    assert spec.param is not None
    texts = [str(v) for v in values]
    return {spec.param: spec.separator.join(texts) if spec.separator else texts}


def _wrap(write: Write, body: Any) -> Any:
    return {write.wrap: body} if write.wrap else body


def _at(body: Any, path: str) -> Any:
    """The value at a dotted path ("data.items", "results.0.id"); None where the path leads nowhere."""
    for step in path.split(".") if path else ():
        if isinstance(body, Mapping):
            body = body.get(step)
        elif isinstance(body, list) and step.isdigit() and int(step) < len(body):
            body = body[int(step)]
        else:
            return None
    return body


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class HttpConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["http"] = "http"
    spec: HttpSpec | None = None
    spec_file: str | None = None
    secrets: dict[str, str] = {}

    @model_validator(mode="after")
    def _one_spec(self) -> HttpConfig:
        if (self.spec is None) == (self.spec_file is None):
            raise ValueError("give either spec or spec_file")
        return self


def from_config(system: str, config: Mapping[str, Any], environment: Mapping[str, str] | None = None) -> HttpConnector:
    """Secrets come from the settings' `secrets`, else from the environment variable of the same name."""
    settings = HttpConfig.model_validate(config)
    spec = settings.spec if settings.spec is not None else HttpSpec.from_yaml(settings.spec_file or "")
    return HttpConnector(system, spec, ChainMap(settings.secrets, dict(environment or {})))
