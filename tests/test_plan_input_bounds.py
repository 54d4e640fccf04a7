"""Plan files: read within a bound (stat first), and the caller's document never mutated."""

from __future__ import annotations

import copy
import io
import json
import os
import threading
from pathlib import Path

import pytest

from tfcheck.loaders import LoadFailure
from tfcheck.loaders import plan as plan_loader
from tfcheck.loaders.plan import load_plan, load_plan_file
from tfcheck.model import Sensitive, Unknown
from tfcheck.safe_io import _read_at_most, read_stream


def _document() -> dict[str, object]:
    values = {"name": "c", "vpc_config": [{"subnet_ids": ["a", None], "endpoint": None}],
              "tags": {"k": "v"}, "secret": {"inner": "s3cr3t"}}
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [{
            "address": "aws_eks_cluster.c", "mode": "managed", "type": "aws_eks_cluster",
            "name": "c", "values": values,
            "sensitive_values": {"secret": {"inner": True}, "tags": {"k": True}}}]}},
        "resource_changes": [{
            "address": "aws_eks_cluster.c", "mode": "managed", "type": "aws_eks_cluster",
            "name": "c", "change": {
                "actions": ["create"], "after": values,
                "after_unknown": {"vpc_config": [{"subnet_ids": [False, True],
                                                  "endpoint": True}],
                                  "tags": {"extra": True}},
                "after_sensitive": {"secret": {"inner": True}}}}],
    }


def test_the_document_given_is_not_mutated() -> None:
    document = _document()
    before = copy.deepcopy(document)
    graph = load_plan(document, "plan.json")
    assert document == before
    cluster = graph.resources()[0]
    assert isinstance(cluster.values["vpc_config"][0]["endpoint"], Unknown)
    assert isinstance(cluster.values["vpc_config"][0]["subnet_ids"][1], Unknown)
    assert isinstance(cluster.values["tags"]["extra"], Unknown)
    assert isinstance(cluster.values["secret"]["inner"], Sensitive)
    assert isinstance(cluster.values["tags"]["k"], Sensitive)


def test_a_plan_over_the_bound_is_an_input_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_document()))
    monkeypatch.setattr(plan_loader, "MAX_PLAN_BYTES", 100)
    with pytest.raises(LoadFailure) as failure:
        load_plan_file(path, "plan.json")
    assert failure.value.error.message == "cannot read: the plan is larger than 100 bytes"


def test_a_pipe_is_read_within_the_bound(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    data = json.dumps(_document()).encode()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the writer child
        try:
            with open(fifo, "wb") as handle:
                handle.write(data)
        finally:
            os._exit(0)
    try:
        graph = load_plan_file(fifo, "plan.fifo")
    finally:
        os.waitpid(pid, 0)
    assert [r.address for r in graph.resources()] == ["aws_eks_cluster.c"]


def test_a_directory_or_missing_plan_is_an_input_error(tmp_path: Path) -> None:
    for path, why in ((tmp_path, "is a directory"), (tmp_path / "no.json", "does not exist")):
        with pytest.raises(LoadFailure) as failure:
            load_plan_file(path, "x")
        assert failure.value.error.message == f"cannot read: the plan {why}"


def test_a_long_address_with_a_stray_quote_is_split_in_linear_time() -> None:
    """`(?:[^.]+|key)+` backtracked exponentially on `module.aaa…a"` (22 letters: 5 s;
    40 would run for days). One character or one key at a time, it is linear."""
    from tfcheck.model import split_address, strip_instance_keys

    address = "module." + "a" * 5_000 + '"[0].aws_vpc.x'
    assert split_address(address)[0] == "module"
    # the quote opens a string that never closes: the rest is one part
    assert strip_instance_keys(address) == "module." + "a" * 5_000 + '"'
    document = {"format_version": "1.2", "planned_values": {"root_module": {"resources": [
        {"address": address, "mode": "managed", "type": "aws_vpc", "name": "x",
         "values": {}}]}}}
    assert address in load_plan(document, "p.json")



class _Recording(io.BytesIO):
    """A stream that notes how many bytes each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)


def test_reading_a_plan_asks_for_its_size_not_the_limit() -> None:
    """`read(n)` sets aside n bytes first: a 4 KB plan must not reserve the 500 MB limit."""
    stream = _Recording(b"x" * 4096)
    assert _read_at_most(stream, 500_000_001, 4096) == b"x" * 4096
    assert stream.asked == [4097]


def test_a_file_that_grows_or_a_pipe_is_read_in_chunks_up_to_the_limit() -> None:
    grown = _Recording(b"x" * (3 << 20))
    assert len(_read_at_most(grown, 500_000_001, 4096)) == 3 << 20
    pipe = _Recording(b"y" * (3 << 20))
    assert len(_read_at_most(pipe, 500_000_001, None)) == 3 << 20
    assert max(grown.asked + pipe.asked) <= 1 << 20
    capped = _Recording(b"z" * (3 << 20))
    assert len(_read_at_most(capped, (2 << 20) + 1, None)) == (2 << 20) + 1


def test_a_pipe_is_read_whole_through_read_stream(tmp_path: Path) -> None:
    pipe = tmp_path / "plan.json"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_bytes(b"y" * (3 << 20)))
    writer.start()
    assert len(read_stream(pipe, 500_000_000)) == 3 << 20
    writer.join()
