"""A stand-in for ingress-nginx in front of the serving Services: it builds its routes from the
stack's own Ingress manifests and routes each request as the controller does, a canary included,
and logs it in ACK's access-log format (what the load test reads back: loadtest/tracks.py).

Transcribed from kubernetes/ingress-nginx at dbb11b92 (controller v1.15.1):
- Ingresses are taken in creation order (internal/ingress/controller/store/store.go
  sortIngressSlice L1102-1115); the first to name a Service's port creates its upstream,
  `<namespace>-<service>-<port>`, and a canary Ingress marks the upstream it created as having no
  server, with its weight (controller.go createUpstreams L1095-1128).
- A path's location belongs to the first Ingress whose upstream has a server (the location loop,
  `if ups.NoServer { continue }` L806-809, first of a path and pathType kept); the server's `/`
  location goes to the default backend (404).
- Each canary path is merged into the location of the same host, path and pathType as an
  alternative upstream, unless it is that location's own upstream (a warning, nothing merged) or
  that upstream has no server; an alternative merged nowhere is deleted (mergeAlternativeBackends
  L1610-1714, canMergeBackend L1575-1580). Only when a non-canary Ingress exists (L921-927).
- A backend without a ready endpoint has no balancer (rootfs/etc/nginx/lua/balancer.lua
  sync_backend L121-124): the main one's answers 503 (`_M.rewrite` L329-334), an alternative's
  sends every request to the main upstream (route_to_alternative_balancer L211-215). Otherwise
  `math.random(100) <= weight` per request (L268-274).
- The location's rewrite-target replaces the whole URI, whichever upstream answers
  (internal/ingress/controller/template/template.go buildProxyPass L787-789: `rewrite
  "(?i)<path>" <target> break;`): the canary's annotations play no part.
- `$req_id` is the client's X-Request-ID when it sends one (nginx.tmpl L390-397), `$request_id`
  otherwise; `$proxy_upstream_name` is the main upstream for every request and
  `$proxy_alternative_upstream_name` the canary's when it answered (balancer.lua get_balancer
  L295-299).
"""

from __future__ import annotations

import ipaddress
import random
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Optional

import aiohttp
from aiohttp import web

from components.scaling.edge import check as edge_check

from .tracks import log_line

DEFAULT_BACKEND = "upstream-default-backend"
CANARY = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"
ALLOW = "nginx.ingress.kubernetes.io/whitelist-source-range"
LIMIT_RPS = "nginx.ingress.kubernetes.io/limit-rps"
# `limit-rps` x the default `limit-burst-multiplier` (internal/ingress/annotations/ratelimit/main.go
# L34-35, L269-272), in `limit_req zone=... burst=<that> nodelay;` (template.go buildRateLimit
# L886-892); a rejection answers `limit_req_status`, 503 by default (config.go L905, nginx.tmpl L305).
BURST_MULTIPLIER = 5
LIMIT_REQ_STATUS = 503


@dataclass
class LimitReq:
    """nginx's limit_req for one client address (src/http/modules/ngx_http_limit_req_module.c at
    release-1.27.1, ngx_http_limit_req_lookup L444-470): `excess` in thousandths of a request, the
    rate in thousandths per second (L939: rate * 1000), the burst likewise (L1060). A request adds
    1000 after the rate has drained the excess since the last accepted one; above the burst it is
    rejected and the state is left as it was; with `nodelay` an accepted request goes at once."""

    rate: int
    """Requests per second."""
    burst: int
    """Requests above the rate it lets through at once."""
    excess: int = 0
    last: Optional[int] = None
    """Milliseconds of the last accepted request (None: this address not seen yet)."""

    def admit(self, now_ms: int) -> bool:
        if self.last is None:  # a new node: excess 0, last now (L498-512)
            self.last = now_ms
            return True
        ms = now_ms - self.last
        ms = 1 if ms < -60000 else max(ms, 0)
        excess = max(self.excess - self.rate * 1000 * ms // 1000 + 1000, 0)
        if excess > self.burst * 1000:
            return False
        self.excess = excess
        if ms:
            self.last = now_ms
        return True


def mapped_route(route: str, status: int, limit_req_status: str, upstream_addr: str) -> str:
    """What the cluster's access-log map (components/scaling/edge/log.py HTTP_SNIPPET) writes for a
    request's route, as nginx evaluates a map: its source `status:limit_req_status:upstream_addr`
    against each regex entry in order, the first match's value, else the default (the route)."""
    key = f"{status}:{limit_req_status}:{upstream_addr}"
    for entry in edge_check.REFUSAL_KEYS:
        if re.search(entry.strip('"').removeprefix("~"), key):
            return "-"
    return route


@dataclass
class Upstream:
    name: str
    no_server: bool = False
    weight: int = 0
    alternatives: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Location:
    host: str
    path: str
    path_type: str
    upstream: str
    rewrite: str
    allow: tuple[str, ...] = ()
    """`whitelist-source-range`: `allow` each, then `deny all` (nginx.tmpl L1206-1213); () none."""
    rps: Optional[int] = None
    """`limit-rps`; None: no limit."""


@dataclass
class Routes:
    """What the controller makes of the Ingresses: upstreams and locations."""

    upstreams: dict[str, Upstream]
    locations: list[Location]
    warnings: list[str]


def upstream_name(namespace: str, backend: dict) -> str:
    """controller.go upstreamName: `<namespace>-<service>-<port number or name>`."""
    service = backend["service"]
    port = service["port"].get("number", service["port"].get("name"))
    # A manifest read back from JSON may carry the number as a float.
    return f"{namespace}-{service['name']}-{int(port) if isinstance(port, float) else port}"


def _paths(ingress: dict):
    for rule in ingress["spec"].get("rules", []):
        for path in (rule.get("http") or {}).get("paths", []):
            if "service" in path.get("backend", {}):
                yield rule.get("host", "_"), path


def _canary(ingress: dict) -> bool:
    return ((ingress["metadata"].get("annotations") or {}).get(CANARY)) == "true"


def routes(ingresses: Sequence[dict]) -> Routes:
    """`ingresses` in creation order (oldest first)."""
    upstreams: dict[str, Upstream] = {DEFAULT_BACKEND: Upstream(DEFAULT_BACKEND)}
    for ingress in ingresses:
        annotations = ingress["metadata"].get("annotations") or {}
        for _, path in _paths(ingress):
            name = upstream_name(ingress["metadata"]["namespace"], path["backend"])
            if name in upstreams:
                continue
            upstreams[name] = Upstream(name)
            if _canary(ingress):
                upstreams[name].no_server = True
                upstreams[name].weight = int(annotations.get(CANARY_WEIGHT, "0") or 0)
    locations: list[Location] = []
    for ingress in ingresses:
        annotations = ingress["metadata"].get("annotations") or {}
        for host, path in _paths(ingress):
            ups = upstreams[upstream_name(ingress["metadata"]["namespace"], path["backend"])]
            if ups.no_server:
                continue
            if any(loc.host == host and loc.path == path["path"] and loc.path_type == path["pathType"]
                   for loc in locations):
                continue
            allow = tuple(c.strip() for c in annotations.get(ALLOW, "").split(",") if c.strip())
            rps = int(annotations[LIMIT_RPS]) if LIMIT_RPS in annotations else None
            locations.append(Location(host, path["path"], path["pathType"], ups.name, annotations.get(REWRITE, ""),
                                      allow, rps))
    warnings: list[str] = []
    canaries = [i for i in ingresses if _canary(i)]
    if len(ingresses) > len(canaries):
        for ingress in canaries:
            for host, path in _paths(ingress):
                alt = upstreams.get(upstream_name(ingress["metadata"]["namespace"], path["backend"]))
                if alt is None:
                    continue
                merged = equals = False
                for loc in (loc for loc in locations if loc.host == host):
                    primary = upstreams[loc.upstream]
                    equals = alt.name == primary.name
                    if equals:
                        warnings.append(f"alternative upstream {alt.name} in Ingress "
                                        f"{ingress['metadata']['name']} is primary upstream in Other Ingress for "
                                        f"location {host}{loc.path}!")
                        break
                    if (primary.name != DEFAULT_BACKEND and not primary.no_server and loc.path == path["path"]
                            and loc.path_type == path["pathType"]):
                        if alt.name not in primary.alternatives:
                            primary.alternatives.append(alt.name)
                        merged = True
                if not equals and not merged:
                    warnings.append(f"unable to find real backend for alternative backend {alt.name}. Deleting.")
                    del upstreams[alt.name]
    return Routes(upstreams, locations, warnings)


@dataclass
class IngressNginxStandIn:
    """Routes predict requests to the serving stand-ins behind the named Services."""

    ingresses: Sequence[dict]
    """The Ingress manifests, oldest first."""
    endpoints: dict[str, Callable[[], Optional[str]]]
    """Per upstream name: the base URL of a ready endpoint, None while there is none."""
    rng: random.Random = field(default_factory=random.Random)
    """`math.random`: seed it for a repeatable split."""
    log: list[str] = field(default_factory=list)
    """Access-log lines, in ACK's format."""
    clock: Callable[[], float] = time.time
    refused_route: bool = False
    """The cluster logs refused requests under the route `-` (its access-log map: components/scaling/edge/
    log.py); False: under the location's route, as ingress-nginx does unchanged."""

    def __post_init__(self) -> None:
        self.routes = routes(self.ingresses)
        self._session: Optional[aiohttp.ClientSession] = None
        self._limits: dict[tuple[str, str], LimitReq] = {}

    def refusal(self, location: Location, client: str) -> Optional[tuple[int, str]]:
        """(status, $limit_req_status) of a request the location refuses, or None. nginx's phases in
        order: preaccess (limit_req, keyed by the client address) before access (allow/deny)."""
        limit_status = ""
        if location.rps is not None:
            limiter = self._limits.setdefault((location.path, client),
                                              LimitReq(location.rps, location.rps * BURST_MULTIPLIER))
            if not limiter.admit(int(self.clock() * 1000)):
                return LIMIT_REQ_STATUS, "REJECTED"
            limit_status = "PASSED"
        if location.allow and not any(ipaddress.ip_address(client) in ipaddress.ip_network(c)
                                      for c in location.allow):
            return 403, limit_status
        return None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        """One pooled client for every proxied request (made on the server's own event loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def _location(self, host: str, uri: str) -> Optional[Location]:
        """The location nginx picks. Where any location of the host rewrites, every one of them is
        `~* "^<path>"` (template.go enforceRegexModifier L504-519, buildLocation L523-539): the
        path as a case-insensitive regex anchored at the start only, tried longest path first
        (controller.go L997-1003), the first match wins; otherwise an Exact path is `=` and any
        other a plain prefix, the longest one winning (nginx's location rules)."""
        candidates = [loc for loc in self.routes.locations if loc.host in (host, "_")]
        if any(loc.rewrite and loc.rewrite != loc.path for loc in candidates):
            ordered = sorted(candidates, key=lambda loc: len(loc.path), reverse=True)
            return next((loc for loc in ordered if re.match("^" + loc.path, uri, re.IGNORECASE)), None)
        exact = [loc for loc in candidates if loc.path_type == "Exact" and uri == loc.path]
        prefix = [loc for loc in candidates if loc.path_type != "Exact" and uri.startswith(loc.path)]
        return exact[0] if exact else max(prefix, key=lambda loc: len(loc.path), default=None)

    def pick(self, location: Location) -> tuple[Optional[str], str]:
        """(the upstream that answers, or None for a 503; the alternative's name or "")."""
        main = self.routes.upstreams[location.upstream]
        if self.endpoints.get(main.name, lambda: None)() is None:
            return None, ""
        for alt_name in main.alternatives[:1]:
            alt = self.routes.upstreams.get(alt_name)
            if alt is None or self.endpoints.get(alt_name, lambda: None)() is None:
                break
            if self.rng.randint(1, 100) <= alt.weight:
                return alt_name, alt_name
        return main.name, ""

    async def _handle(self, request: web.Request) -> web.Response:
        started = self.clock()
        host = request.headers.get("Host", "").split(":")[0]
        location = self._location(host, request.path)
        body = await request.read()
        req_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        if location is None or location.upstream == DEFAULT_BACKEND:
            return self._answer(request, started, req_id, 404, b"default backend - 404", "", "", "", "")
        refused = self.refusal(location, request.remote or "127.0.0.1")
        if refused is not None:
            status, limit_status = refused
            route = mapped_route(location.upstream, status, limit_status, "") if self.refused_route \
                else location.upstream
            return self._answer(request, started, req_id, status, b"", route, "", "", "")
        chosen, alternative = self.pick(location)
        uri = location.rewrite if location.rewrite and location.rewrite != location.path else request.path
        if chosen is None:
            return self._answer(request, started, req_id, 503, b"503 Service Temporarily Unavailable",
                                location.upstream, alternative, "", "")
        base = self.endpoints[chosen]()
        assert base is not None
        upstream_start = self.clock()
        async with self._client().request(request.method, base + uri, data=body,
                                          headers={"Content-Type": request.content_type}) as response:
            answer = await response.read()
            status = response.status
        upstream_time = f"{self.clock() - upstream_start:.3f}"
        return self._answer(request, started, req_id, status, answer, location.upstream, alternative,
                            base.removeprefix("http://"), upstream_time, str(status))

    def _answer(self, request: web.Request, started: float, req_id: str, status: int, body: bytes,
                upstream: str, alternative: str, address: str, upstream_time: str,
                upstream_status: str = "") -> web.Response:
        # `$time_local` is the time the line is written, in the log phase at the request's end
        # (nginx src/http/modules/ngx_http_log_module.c at 3f6f7824d: the cached log time, L839-849,
        # from the LOG_PHASE handler, L2016), not when the request came in.
        self.log.append(log_line(
            remote_addr=request.remote or "-", time=self.clock(), method=request.method, url=request.path_qs,
            status=status, body_bytes_sent=len(body), request_time=self.clock() - started,
            request_length=request.content_length or 0, host=request.headers.get("Host", "-"), req_id=req_id,
            proxy_upstream_name=upstream, proxy_alternative_upstream_name=alternative, upstream_addr=address,
            upstream_response_time=upstream_time, upstream_status=upstream_status,
            user_agent=request.headers.get("User-Agent", "-")))
        return web.Response(status=status, body=body, content_type="application/json" if status == 200 else None)
