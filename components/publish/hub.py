"""The Hub side of a release: read the released model, one atomic commit (retried), the release tag.

Requests, in order: the repo's head and card (``model_info``; a 404 means a
first release, then ``create_repo`` and the new repo's head), the client's
YAML check and preupload (and LFS uploads), one ``create_commit`` with
``parent_commit`` set to the head read before, the repo's refs, and
``create_tag`` on the commit's oid. A commit that changes nothing comes back
as the head read before: no commit, no new tag. The client does not retry a
failed commit POST; ``commit_release`` does, with back-off, and before each
retry reads the head again: a head that moved and holds exactly this release
means the earlier POST landed, so it is used, never committed twice.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.errors import PipelineError
from components.core.report import file_sha256

log = logging.getLogger(__name__)
RETRIED_STATUS = (500, 502, 503, 504)


@dataclass(frozen=True)
class Head:
    """The repo's main branch: its commit (None when the repo does not exist), card data and files."""

    sha: str | None
    card: Any = None
    files: dict[str, dict[str, Any]] | None = None


def hub_api(token: str):
    """An ``HfApi`` on ``HF_ENDPOINT`` as set now (the client reads its constant once, at import), quiet."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # an orchestrator logs stderr as errors; the stage logs what it sent
    return HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)


def _http_status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's connection errors (the answer never came: the commit may or may not have landed)."""
    try:
        from httpx2 import TransportError
    except ImportError:  # huggingface_hub < 2 talks through httpx
        from httpx import TransportError
    return (TransportError,)


def hub_error(err: BaseException, repo_id: str, doing: str) -> PipelineError:
    """A one-line error for a failed Hub request; never includes the token."""
    status = _http_status(err)
    if status in (401, 403):
        return PipelineError(f"the Hub refused {doing} {repo_id} (HTTP {status}): the token in HF_TOKEN is invalid "
                             "or cannot write there; set HF_TOKEN to a write token for that namespace")
    first = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
    return PipelineError(f"Hub request failed while {doing} {repo_id}: {first}")


def read_head(api, repo_id: str) -> Head:
    """The repo's head, card data and file hashes; ``Head(None)`` when the repo does not exist yet."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        info = api.model_info(repo_id, revision="main", files_metadata=True)
    except RepositoryNotFoundError as err:
        if _http_status(err) == 401 and "Invalid credentials" in str(err):
            raise hub_error(err, repo_id, "reading") from err
        return Head(None)
    except HfHubHTTPError as err:
        raise hub_error(err, repo_id, "reading") from err
    files = {s.rfilename: {"blob_id": s.blob_id, "sha256": s.lfs.sha256 if s.lfs else None}
             for s in info.siblings or []}
    return Head(info.sha, info.card_data, files)


def holds_release(head: Head, folder: Path, names: list[str]) -> bool:
    """True when every release file is on ``head`` with the same content (LFS sha256 or git blob id)."""
    from huggingface_hub.utils import sha

    if not head.files:
        return False
    for name in names:
        remote = head.files.get(name)
        data_hash = file_sha256(folder / name)
        if remote is None or (remote["sha256"] != data_hash
                              and remote["blob_id"] != sha.git_hash((folder / name).read_bytes())):
            return False
    return True


def create_repo(api, repo_id: str, private: bool) -> Head:
    """Create the repo (private or not) and return its first head."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    except HfHubHTTPError as err:
        raise hub_error(err, repo_id, "creating") from err
    return read_head(api, repo_id)


def commit_release(api, repo_id: str, folder: Path, names: list[str], parent: str, message: str,
                   retries: int, backoff_s: float) -> str:
    """One commit of ``names`` from ``folder`` on ``parent``; returns its oid (``parent`` when unchanged)."""
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError

    for attempt in range(retries + 1):
        operations = [CommitOperationAdd(path_in_repo=n, path_or_fileobj=str(folder / n)) for n in names]
        try:
            return api.create_commit(repo_id, operations, commit_message=message, parent_commit=parent,
                                     repo_type="model").oid
        except (HfHubHTTPError, *_transport_errors()) as err:
            retried = _http_status(err) in RETRIED_STATUS or not isinstance(err, HfHubHTTPError)
            if not retried or attempt == retries:
                raise hub_error(err, repo_id, "committing to") from err
            wait = backoff_s * 2 ** attempt
            log.warning("publish: commit to %s failed (%s); attempt %d of %d in %.1f s", repo_id,
                        f"HTTP {_http_status(err)}" if _http_status(err) else type(err).__name__,
                        attempt + 2, retries + 1, wait)
        time.sleep(wait)
        head = read_head(api, repo_id)
        if head.sha != parent:
            if holds_release(head, folder, names):
                log.info("publish: the failed commit POST had landed (%s); not committing again", head.sha)
                return head.sha
            raise PipelineError(f"{repo_id}: main moved from {parent} to {head.sha} during the release and does "
                                "not hold it; rerun publish")
    raise AssertionError("unreachable")


def tag_release(api, repo_id: str, tag: str, oid: str) -> bool:
    """Tag ``oid``; False when the tag already points there. A tag pointing elsewhere is an error naming it."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        tags = {t.name: t.target_commit for t in api.list_repo_refs(repo_id, repo_type="model").tags}
        if tag in tags:
            if tags[tag] != oid:
                raise PipelineError(f"{repo_id}: tag {tag!r} already points at {tags[tag]}, not at this release "
                                    f"{oid}; change publish.tag or delete that tag")
            return False
        api.create_tag(repo_id, tag=tag, revision=oid, repo_type="model")
    except HfHubHTTPError as err:
        raise hub_error(err, repo_id, f"tagging {tag} on") from err
    return True
