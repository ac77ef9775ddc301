"""Corpus archives unpack safely: a member that would land outside the target is refused."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from components.core.errors import PipelineError
from components.ingest.archives import safe_extract, unsafe_member


def make_tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def test_a_release_tarball_unpacks_into_place(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "test-clean.tar.gz", {
        "LibriSpeech/test-clean/1/2/1-2.trans.txt": b"1-2-0000 HELLO\n",
        "LibriSpeech/README.TXT": b"readme"}, links={"LibriSpeech/LICENSE": "README.TXT"})
    out = safe_extract(archive, tmp_path / "raw" / "librispeech")
    assert (out / "LibriSpeech" / "test-clean" / "1" / "2" / "1-2.trans.txt").read_text() == "1-2-0000 HELLO\n"
    assert (out / "LibriSpeech" / "LICENSE").read_text() == "readme"
    (out / "LibriSpeech" / "README.TXT").write_text("edited")
    assert safe_extract(archive, out) == out and (out / "LibriSpeech" / "README.TXT").read_text() == "edited"


@pytest.mark.parametrize(("members", "links", "why"), [
    ({"corpus/../../evil.txt": b"x"}, {}, "contains '..'"),
    ({"/abs/evil.txt": b"x"}, {}, "is an absolute path"),
    ({"corpus/ok.txt": b"x"}, {"corpus/passwd": "/etc/passwd"}, "links outside the archive"),
    ({"corpus/ok.txt": b"x"}, {"corpus/up": "../../outside"}, "links outside the archive"),
])
def test_members_escaping_the_target_refuse_the_whole_archive(members: dict, links: dict, why: str,
                                                              tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "bad.tar.gz", members, links)
    with pytest.raises(PipelineError, match=why):
        safe_extract(archive, tmp_path / "raw" / "corpus")
    assert not (tmp_path / "raw" / "corpus").exists() and not list((tmp_path / "raw").iterdir())
    assert not (tmp_path / "evil.txt").exists()


def test_zip_with_a_parent_member_is_refused(tmp_path: Path) -> None:
    good, bad = tmp_path / "ami.zip", tmp_path / "bad.zip"
    with zipfile.ZipFile(good, "w") as zipped:
        zipped.writestr("ami_public_manual_1.6.2/corpusResources/meetings.xml", "<meetings/>")
    with zipfile.ZipFile(bad, "w") as zipped:
        zipped.writestr("../escape.xml", "<x/>")
    assert (safe_extract(good, tmp_path / "ami") / "ami_public_manual_1.6.2").is_dir()
    with pytest.raises(PipelineError, match="contains '..'"):
        safe_extract(bad, tmp_path / "other")


def test_unsafe_member_names() -> None:
    assert unsafe_member("a/b/c.flac") is None and unsafe_member("./a") is None
    assert unsafe_member("C:/x") == "is an absolute path" and unsafe_member("a\\..\\b") == "contains '..'"
