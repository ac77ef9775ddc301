"""A local HTTP stand-in of the Hub API, for the real ``huggingface_hub`` client (``HF_ENDPOINT``).

It implements only what a release calls: model info with ``cardData`` and
file metadata, repo creation, the YAML check, preupload, the Git LFS batch
API and its upload URL, the commit API (with ``parentCommit``), refs and tags.
Files ending in ``.safetensors`` go through LFS, the rest are regular blobs,
as the Hub's default ``.gitattributes`` does for weights. Every request is
recorded as ``"METHOD /path"``; ``fail_next`` makes a request fail once with
a given HTTP status; a wrong token gets the Hub's 401.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import yaml

LFS_SUFFIXES = (".safetensors",)
INVALID_TOKEN = "Invalid credentials in Authorization header"


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    """One model repo: commits (newest last), the files at head, tags and LFS objects."""

    private: bool
    commits: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def head(self) -> str:
        return self.commits[-1]["oid"]


class HubStandIn:
    """Start with ``with HubStandIn(token) as hub:``; ``hub.url`` is the endpoint."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.failures: list[tuple[str, str, int, bool]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "HubStandIn":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, method: str, path_pattern: str, status: int = 500, after: bool = False) -> None:
        """The next request matching ``method`` and the regex ``path_pattern`` gets HTTP ``status``;
        with ``after``, a commit is applied first and only its answer is lost (the POST landed)."""
        self.failures.append((method, path_pattern, status, after))

    def writes(self) -> list[str]:
        """The recorded requests that are not reads."""
        return [r for r in self.requests if not r.startswith("GET ")]

    # ---- repository operations, called by the handler under the lock ----

    def create(self, repo_id: str, private: bool) -> bool:
        if repo_id in self.repos:
            return False
        repo = self.repos[repo_id] = Repo(private)
        self._commit(repo, "initial commit", {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"})
        return True

    def _commit(self, repo: Repo, summary: str, changes: dict[str, bytes | None]) -> str:
        parent = repo.commits[-1]["oid"] if repo.commits else ""
        hashes = sorted((k, hashlib.sha256(v or b"").hexdigest()) for k, v in changes.items())
        body = json.dumps([parent, summary, hashes])
        oid = hashlib.sha1(body.encode()).hexdigest()
        for path, data in changes.items():
            if data is None:
                repo.files.pop(path, None)
            else:
                repo.files[path] = data
        repo.commits.append({"oid": oid, "summary": summary})
        return oid

    def remote_oid(self, repo: Repo, path: str) -> str | None:
        data = repo.files.get(path)
        if data is None:
            return None
        return hashlib.sha256(data).hexdigest() if path.endswith(LFS_SUFFIXES) else git_blob_id(data)

    def info(self, repo_id: str) -> dict[str, Any]:
        repo = self.repos[repo_id]
        siblings = []
        for path, data in sorted(repo.files.items()):
            entry: dict[str, Any] = {"rfilename": path, "size": len(data), "blobId": git_blob_id(data)}
            if path.endswith(LFS_SUFFIXES):
                entry["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 134}
            siblings.append(entry)
        card = repo.files.get("README.md", b"").decode()
        match = re.match(r"^---\n(.*?)\n---\n", card, re.S)
        return {"id": repo_id, "modelId": repo_id, "sha": repo.head, "private": repo.private,
                "cardData": yaml.safe_load(match.group(1)) if match else None, "siblings": siblings, "tags": []}

    def apply_commit(self, repo_id: str, lines: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        repo = self.repos[repo_id]
        header = lines[0]["value"]
        if header.get("parentCommit") and header["parentCommit"] != repo.head:
            return 412, {"error": f"parent commit {header['parentCommit']} is not the head {repo.head}"}
        changes: dict[str, bytes | None] = {}
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file":
                changes[value["path"]] = base64.b64decode(value["content"])
            elif line["key"] == "lfsFile":
                if value["oid"] not in self.lfs:
                    return 400, {"error": f"LFS object {value['oid']} was never uploaded"}
                changes[value["path"]] = self.lfs[value["oid"]]
            elif line["key"] == "deletedFile":
                changes[value["path"]] = None
        oid = self._commit(repo, header["summary"], changes)
        return 200, {"commitOid": oid, "commitUrl": f"{self.url}/{repo_id}/commit/{oid}", "success": True}


ROUTES = [
    ("GET", r"^/api/models/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)$", "model_info"),
    ("POST", r"^/api/repos/create$", "create_repo"),
    ("POST", r"^/api/validate-yaml$", "validate_yaml"),
    ("POST", r"^/api/models/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)$", "preupload"),
    ("POST", r"^/(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch$", "lfs_batch"),
    ("PUT", r"^/_lfs/(?P<oid>[0-9a-f]{64})$", "lfs_put"),
    ("POST", r"^/api/models/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)$", "commit"),
    ("GET", r"^/api/models/(?P<repo>[^/]+/[^/]+)/refs$", "refs"),
    ("POST", r"^/api/models/(?P<repo>[^/]+/[^/]+)/tag/(?P<rev>[^/]+)$", "tag"),
]
NO_AUTH = {"lfs_put"}  # a pre-signed storage URL on the real Hub


def _handler(hub: HubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    break
                data += chunk
            return data

        def _dispatch(self, method: str) -> None:
            path = urlsplit(self.path).path
            body = self._body()
            with hub.lock:
                hub.requests.append(f"{method} {path}")
                for route_method, pattern, name in ROUTES:
                    match = re.match(pattern, path) if route_method == method else None
                    if match:
                        break
                else:
                    return self._send(404, {"error": f"stand-in: no route for {method} {path}"})
                if name not in NO_AUTH and self.headers.get("authorization") != f"Bearer {hub.token}":
                    return self._send(401, {"error": INVALID_TOKEN})
                for i, (fail_method, fail_pattern, status, after) in enumerate(hub.failures):
                    if fail_method == method and re.search(fail_pattern, path):
                        del hub.failures[i]
                        if after and name == "commit":
                            hub.apply_commit(match["repo"], [json.loads(x) for x in body.splitlines() if x.strip()])
                        return self._send(status, {"error": "stand-in: injected failure"})
                return getattr(self, name)(body=body, **match.groupdict())

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def _missing(self, repo: str) -> bool:
            if repo not in hub.repos:
                self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                return True
            return False

        def model_info(self, body: bytes, repo: str, rev: str) -> None:
            if not self._missing(repo):
                self._send(200, hub.info(repo))

        def create_repo(self, body: bytes, **_: str) -> None:
            payload = json.loads(body)
            repo_id = f"{payload['organization']}/{payload['name']}"
            if not hub.create(repo_id, payload.get("visibility", "private") == "private"):
                return self._send(409, {"error": "You already created this model repo", "url": f"{hub.url}/{repo_id}"})
            self._send(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})

        def validate_yaml(self, body: bytes, **_: str) -> None:
            self._send(200, {"errors": [], "warnings": []})

        def preupload(self, body: bytes, repo: str, rev: str) -> None:
            if self._missing(repo):
                return
            files = [{"path": f["path"], "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) else "regular",
                      "shouldIgnore": False, "oid": hub.remote_oid(hub.repos[repo], f["path"])}
                     for f in json.loads(body)["files"]]
            self._send(200, {"files": files, "commitOid": hub.repos[repo].head})

        def lfs_batch(self, body: bytes, repo: str) -> None:
            objects = []
            for obj in json.loads(body)["objects"]:
                entry = {"oid": obj["oid"], "size": obj["size"]}
                if obj["oid"] not in hub.lfs:
                    entry["actions"] = {"upload": {"href": f"{hub.url}/_lfs/{obj['oid']}"}}
                objects.append(entry)
            self._send(200, {"transfer": "basic", "objects": objects})

        def lfs_put(self, body: bytes, oid: str) -> None:
            if hashlib.sha256(body).hexdigest() != oid:
                return self._send(400, {"error": "sha256 mismatch"})
            hub.lfs[oid] = body
            self._send(200, {})

        def commit(self, body: bytes, repo: str, rev: str) -> None:
            if not self._missing(repo):
                self._send(*hub.apply_commit(repo, [json.loads(line) for line in body.splitlines() if line.strip()]))

        def refs(self, body: bytes, repo: str) -> None:
            if self._missing(repo):
                return
            r = hub.repos[repo]
            self._send(200, {"branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": r.head}],
                             "converts": [], "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": oid}
                                                      for n, oid in sorted(r.tags.items())]})

        def tag(self, body: bytes, repo: str, rev: str) -> None:
            if self._missing(repo):
                return
            r, name = hub.repos[repo], json.loads(body)["tag"]
            target = r.head if rev == "main" else rev
            if target not in {c["oid"] for c in r.commits}:
                return self._send(404, {"error": f"revision {rev} not found"}, {"X-Error-Code": "RevisionNotFound"})
            if name in r.tags:
                return self._send(409, {"error": f"tag {name} already exists"})
            r.tags[name] = target
            self._send(200, {})

    return Handler
