"""The picture of a cluster's network (pull-request comment, `graph --cluster`).

The structure is checked on fixtures; the slow test renders it with the real Mermaid
CLI (`npm install @mermaid-js/mermaid-cli`, with a Chromium) and Graphviz, which
reject what they cannot draw.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tfcheck.engine import ScanOptions, scan
from tfcheck.picture import Picture, to_dot, to_mermaid
from tfcheck.report import RenderOptions, renderer

from .conftest import FIXTURES, run_tfcheck

NAT_PLAN = FIXTURES / "plans/pc201-nat-route-resource"
MISSING_PLAN = FIXTURES / "plans/pc301-feature-endpoints-missing"
CLUSTER = "aws_eks_cluster.main"


def picture_of(path: Path) -> Picture:
    (picture,) = scan(path, options=ScanOptions(pictures="all")).pictures.values()
    return picture


def test_subnets_by_availability_zone_inside_the_vpc_and_gateways_outside() -> None:
    picture = picture_of(NAT_PLAN)
    assert picture.vpc == "aws_vpc.main"
    assert sorted(picture.azs) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert {n.kind for n in picture.outside} == {"cluster", "nodes", "gateway"}
    assert {n.kind for n in picture.inside} == {"table", "endpoint", "sg"}
    assert ("aws_route_table.private[0]", "aws_nat_gateway.main", "0.0.0.0/0") in picture.edges
    # what PC201 fails: the node subnets and the NAT gateway they route to
    assert {"aws_nat_gateway.main", "aws_subnet.private[0]"} <= picture.failing
    chart = to_mermaid(picture)
    assert '  subgraph vpc["VPC aws_vpc.main"]' in chart
    assert '    subgraph az0["eu-west-1a"]' in chart
    failing_ids = re.search(r"  class (\S+) fail", chart)
    assert failing_ids is not None
    nat_id = re.search(r'(n\d+)\{\{"NAT gateway<br/>aws_nat_gateway.main"\}\}', chart)
    assert nat_id is not None and nat_id[1] in failing_ids[1].split(",")
    dot = to_dot(picture)
    assert "subgraph cluster_vpc {" in dot and "subgraph cluster_az0 {" in dot


def test_a_missing_endpoint_is_a_dashed_box_in_the_vpc() -> None:
    picture = picture_of(MISSING_PLAN)
    missing = {n.label.split("<br/>")[0] for n in picture.inside if n.kind == "missing"}
    assert missing == {"no eks-auth endpoint", "no ssm endpoint", "no ssmmessages endpoint",
                       "no sts endpoint"}
    assert "  classDef missing" in to_mermaid(picture)


def test_the_comment_draws_the_picture_and_clean_clusters_get_none() -> None:
    failing = ScanOptions(pictures="failing")  # what `tfcheck scan -f markdown` asks for
    report = scan(NAT_PLAN, options=failing)
    text = renderer("markdown")(report, RenderOptions())
    assert text.count("```mermaid\nflowchart LR\n") == 1
    assert 'subgraph vpc["VPC aws_vpc.main"]' in text
    assert scan(NAT_PLAN).pictures == {}  # the API, like the command line, draws on request
    clean = scan(FIXTURES / "plans/good-private-cluster", options=failing)
    assert clean.pictures == {}
    assert "```mermaid" not in renderer("markdown")(clean, RenderOptions())


def test_graph_cluster_command_in_every_format() -> None:
    mermaid = run_tfcheck("graph", str(NAT_PLAN), "--cluster", CLUSTER, "-f", "mermaid")
    assert mermaid.stdout == to_mermaid(picture_of(NAT_PLAN))
    document = json.loads(run_tfcheck("graph", str(NAT_PLAN), "--cluster", CLUSTER,
                                      "-f", "json").stdout)
    assert document["availability_zones"]["eu-west-1a"] == ["aws_subnet.private[0]"]
    assert {"key": "aws_nat_gateway.main", "kind": "gateway",
            "label": "NAT gateway<br/>aws_nat_gateway.main", "failing": True} in \
        document["nodes"]
    unknown = run_tfcheck("graph", str(NAT_PLAN), "--cluster", "aws_eks_cluster.x")
    assert unknown.returncode == 2
    assert "clusters: aws_eks_cluster.main" in unknown.stderr
    # the picture is a person's drawing, not the tangle of every reference
    assert len(run_tfcheck("graph", str(NAT_PLAN), "--cluster", CLUSTER, "-f",
                           "dot").stdout.splitlines()) < 80


def _mermaid_cli() -> list[str] | None:
    found = os.environ.get("MMDC") or shutil.which("mmdc")
    return [found] if found else None


def _chromium() -> str | None:
    return next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser",
                                                          "google-chrome"))), None)


@pytest.mark.slow
@pytest.mark.parametrize("plan", [NAT_PLAN, MISSING_PLAN], ids=["nat", "missing"])
def test_mermaid_cli_renders_the_picture(tmp_path: Path, plan: Path) -> None:
    mmdc, chromium = _mermaid_cli(), _chromium()
    if mmdc is None or chromium is None:
        pytest.skip("the Mermaid CLI (npm install @mermaid-js/mermaid-cli; MMDC=path) or a "
                    "Chromium (apt-get install chromium) is not installed")
    config = tmp_path / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": chromium,
                                  "args": ["--no-sandbox", "--disable-gpu"]}))
    source = tmp_path / "picture.mmd"
    source.write_text(to_mermaid(picture_of(plan)))
    output = tmp_path / "picture.png"
    result = subprocess.run([*mmdc, "-p", str(config), "-i", str(source), "-o", str(output),
                             "-w", "1600"], capture_output=True, text=True, timeout=180,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert output.stat().st_size > 10_000
    if os.environ.get("TFCHECK_KEEP_RENDERS"):  # to look at them
        shutil.copy(output, Path(os.environ["TFCHECK_KEEP_RENDERS"]) / f"{plan.name}.png")


@pytest.mark.slow
def test_graphviz_renders_the_picture(tmp_path: Path) -> None:
    dot = shutil.which("dot")
    if dot is None:
        pytest.skip("Graphviz is not installed (apt-get install graphviz)")
    output = tmp_path / "picture.png"
    result = subprocess.run([dot, "-Tpng", "-o", str(output)],
                            input=to_dot(picture_of(NAT_PLAN)), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0 and "Warning" not in result.stderr, result.stderr
    assert output.stat().st_size > 10_000
    if os.environ.get("TFCHECK_KEEP_RENDERS"):
        shutil.copy(output, Path(os.environ["TFCHECK_KEEP_RENDERS"]) / "nat.dot.png")
