"""PC305 s3-gateway-route-tables."""

from __future__ import annotations

from tfcheck.model import Status
from tfcheck_policies.s3_gateway_route_tables import s3_gateway_route_tables

from ..network_builders import (
    CLUSTER,
    SUBNETS,
    TABLES,
    by_subject,
    endpoint,
    private_cluster,
    run,
    unknown,
    verdicts,
)


class TestPC305:
    def test_pass_on_every_node_route_table(self) -> None:
        results = run(s3_gateway_route_tables, private_cluster())
        assert verdicts(results) == [("pass", s) for s in SUBNETS]

    def test_fail_where_a_route_table_is_missing(self) -> None:
        p = private_cluster()
        p.edges = [e for e in p.edges
                   if not (e[0] == "aws_vpc_endpoint.s3" and e[2] == TABLES[2])]
        results = by_subject(run(s3_gateway_route_tables, p))
        fail = results[SUBNETS[2]]
        assert fail.status is Status.FAIL
        assert fail.data == {"subnet": SUBNETS[2], "route_table": TABLES[2],
                             "cluster": CLUSTER}
        assert fail.evidence == (SUBNETS[2], "aws_route_table_association.private[2]",
                                 TABLES[2], "aws_vpc_endpoint.s3")
        assert fail.remediation == (
            'resource "aws_vpc_endpoint_route_table_association" "s3_private_2" {\n'
            "  vpc_endpoint_id = aws_vpc_endpoint.s3.id\n"
            "  route_table_id  = aws_route_table.private[2].id\n"
            "}")
        assert results[SUBNETS[0]].status is Status.PASS

    def test_route_table_association_resources_count(self) -> None:
        p = private_cluster()
        p.edges = [e for e in p.edges if e[0] != "aws_vpc_endpoint.s3"
                   or e[1] != "route_table_ids"]
        for i, table in enumerate(TABLES):
            p.add(f"aws_vpc_endpoint_route_table_association.s3[{i}]", {
                "vpc_endpoint_id": unknown(), "route_table_id": unknown()},
                refs={"vpc_endpoint_id": "aws_vpc_endpoint.s3", "route_table_id": table})
        p.resources["aws_vpc_endpoint.s3"].values["route_table_ids"] = unknown()
        p.resources["aws_vpc_endpoint.s3"].configured = frozenset(
            {"vpc_id", "service_name", "vpc_endpoint_type"})
        assert verdicts(run(s3_gateway_route_tables, p)) == [("pass", s) for s in SUBNETS]

    def test_main_route_table_by_reference(self) -> None:
        p = private_cluster()
        p.remove(*(f"aws_route_table_association.private[{i}]" for i in range(3)))
        p.edges = [e for e in p.edges if e[0] != "aws_vpc_endpoint.s3"
                   or e[1] != "route_table_ids"]
        p.ref("aws_vpc_endpoint.s3", "route_table_ids", "aws_vpc.main")
        assert verdicts(run(s3_gateway_route_tables, p)) == [("pass", s) for s in SUBNETS]

    def test_s3_interface_endpoint_or_no_s3_endpoint_is_not_this_policy(self) -> None:
        p = private_cluster()
        p.remove("aws_vpc_endpoint.s3")
        assert run(s3_gateway_route_tables, p) == []
        endpoint(p, "aws_vpc_endpoint.s3_interface", "s3")
        assert run(s3_gateway_route_tables, p) == []
