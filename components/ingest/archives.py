"""Unpack corpus archives (``.tar.gz``, ``.tgz``, ``.tar``, ``.zip``) as releases ship them, safely.

LibriSpeech, TED-LIUM, Common Voice, People's Speech and VoxPopuli come as
tar archives, the AMI annotations as a zip. ``safe_extract`` refuses the whole
archive, before writing anything, when a member would land outside the target:
an absolute name, a ``..`` component, a link pointing outside, or a device or
other special file. It unpacks into a staging directory beside the target and
renames it into place, so a failed or interrupted run leaves no half-extracted
corpus; an existing target is left alone (a rerun reuses it).
"""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from components.core.errors import PipelineError

SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


def safe_extract(archive: Path, dst: Path) -> Path:
    """Unpack ``archive`` into ``dst`` (created; kept as is when it exists) and return ``dst``."""
    archive, dst = Path(archive), Path(dst)
    if dst.exists():
        return dst
    staging = dst.with_name(f".{dst.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            _extract_zip(archive, staging)
        elif archive.name.endswith((".tar.gz", ".tgz", ".tar")):
            _extract_tar(archive, staging)
        else:
            raise PipelineError(f"{archive}: not an archive this knows; expected one of {', '.join(SUFFIXES)}")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rename(dst)
    return dst


def unsafe_member(name: str) -> str | None:
    """Why a member name would escape the target directory, or None when it stays inside."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or (path.parts and path.parts[0].endswith(":")):
        return "is an absolute path"
    if ".." in path.parts:
        return "contains '..'"
    return None


def _extract_tar(archive: Path, staging: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                problem = unsafe_member(member.name)
                if problem is None and (member.issym() or member.islnk()):
                    target = member.linkname if member.islnk() else str(PurePosixPath(member.name).parent /
                                                                          member.linkname)
                    problem = None if unsafe_member(_normal(target)) is None else "links outside the archive"
                if problem is None and not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                    problem = "is a device or special file"
                if problem:
                    raise PipelineError(f"{archive}: member {member.name!r} {problem}; refusing to extract it")
            tar.extractall(staging, members=members, filter="data")
    except (tarfile.TarError, OSError) as err:
        raise PipelineError(f"{archive}: cannot extract: {err}") from err


def _extract_zip(archive: Path, staging: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            for name in zipped.namelist():
                problem = unsafe_member(name)
                if problem:
                    raise PipelineError(f"{archive}: member {name!r} {problem}; refusing to extract it")
            zipped.extractall(staging)
    except (zipfile.BadZipFile, OSError) as err:
        raise PipelineError(f"{archive}: cannot extract: {err}") from err


def _normal(name: str) -> str:
    """Collapse ``a/b/../c`` to ``a/c`` (a leading ``..`` that escapes is kept, so it is caught)."""
    parts: list[str] = []
    for part in PurePosixPath(name).parts:
        if part == ".." and parts and parts[-1] != "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts) if not name.startswith("/") else "/" + "/".join(parts[1:])
