"""PC501 self-managed-bootstrap: launch templates pass the API endpoint and CA."""

from __future__ import annotations

import base64
import gzip
import textwrap
from dataclasses import dataclass
from typing import Any

from tfcheck.model import Resource, Status, Unknown
from tfcheck_policies.self_managed_bootstrap import self_managed_bootstrap

from ..workload_builders import cluster, graph_of, only, resource, run, verdicts

ENDPOINT = "https://ABCD1234.gr7.eu-west-1.eks.amazonaws.com"
CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM="


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def al2(args: str, cluster_name: str = "main") -> str:
    return f"#!/bin/bash\nset -o xtrace\n/etc/eks/bootstrap.sh {cluster_name} {args}\n"


GOOD_AL2 = al2(f"--apiserver-endpoint {ENDPOINT} --b64-cluster-ca {CA}")


def launch_template(address: str = "aws_launch_template.nodes", user_data: Any = None,
                    image_id: str | None = "ami-0123456789abcdef0") -> Resource:
    values: dict[str, Any] = {"name_prefix": "nodes-", "instance_type": "m6i.large"}
    configured = {"name_prefix", "instance_type"}
    if user_data is not None:
        values["user_data"] = user_data
        configured.add("user_data")
    if image_id is not None:
        values["image_id"] = image_id
        configured.add("image_id")
    return resource(address, values, configured=configured)


def asg(address: str = "aws_autoscaling_group.nodes", tags: dict[str, str] | None = None
        ) -> Resource:
    return resource(address, {
        "launch_template": [{"id": Unknown("after apply"), "version": "$Latest"}],
        "min_size": 1, "max_size": 3,
        "tag": [{"key": k, "value": v, "propagate_at_launch": True}
                for k, v in (tags or {}).items()],
    })


@dataclass
class Case:
    """One self-managed node setup: cluster + launch template + ASG using it."""

    user_data: Any
    service_cidr: str | None = None
    tags: dict[str, str] | None = None

    def results(self, *extra: Resource) -> list[Any]:
        graph = graph_of(
            cluster("main", service_cidr=self.service_cidr),
            launch_template(user_data=self.user_data),
            asg(tags=self.tags),
            *extra,
            edges=[("aws_autoscaling_group.nodes", "launch_template.id",
                    "aws_launch_template.nodes")],
        )
        return run(self_managed_bootstrap, graph)


class TestAl2:
    def test_pass_with_endpoint_and_ca(self) -> None:
        (result,) = Case(b64(GOOD_AL2)).results()
        assert result.status is Status.PASS
        assert result.subject.address == "aws_launch_template.nodes"
        assert result.message == (
            "aws_launch_template.nodes: Amazon Linux 2 /etc/eks/bootstrap.sh (user data, "
            "line 3) passes --apiserver-endpoint, --b64-cluster-ca")
        assert result.evidence == ("aws_autoscaling_group.nodes", "aws_launch_template.nodes",
                                   "aws_eks_cluster.main")
        assert result.data["bootstrap"] == "al2"
        assert result.data["layers"] == ["base64"]

    def test_fail_without_ca(self) -> None:
        (result,) = Case(b64(al2(f"--apiserver-endpoint {ENDPOINT}"))).results()
        assert result.status is Status.FAIL
        assert result.data["missing"] == ["--b64-cluster-ca"]
        assert "does not pass --b64-cluster-ca: without them the node asks the EKS API " \
               "(DescribeCluster)" in result.message
        assert "--apiserver-endpoint ${aws_eks_cluster.main.endpoint}" in result.remediation
        assert result.attribute == "user_data"

    def test_fail_with_neither(self) -> None:
        (result,) = Case(b64(al2("--kubelet-extra-args '--node-labels=a=b'"))).results()
        assert result.status is Status.FAIL
        assert result.data["missing"] == ["--apiserver-endpoint", "--b64-cluster-ca"]

    def test_custom_service_cidr_needs_dns_ip_or_cidr(self) -> None:
        (result,) = Case(b64(GOOD_AL2), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.FAIL
        assert result.data["missing"] == ["--service-ipv4-cidr or --dns-cluster-ip"]
        assert "custom service CIDR (10.96.0.0/16)" in result.message

    def test_custom_service_cidr_with_dns_ip(self) -> None:
        user_data = al2(f"--apiserver-endpoint {ENDPOINT} --b64-cluster-ca {CA} "
                        "--dns-cluster-ip 10.96.0.10")
        (result,) = Case(b64(user_data), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.PASS
        assert result.message.endswith(
            "passes --apiserver-endpoint, --b64-cluster-ca, --dns-cluster-ip")

    def test_dns_ip_outside_the_service_cidr(self) -> None:
        user_data = al2(f"--apiserver-endpoint {ENDPOINT} --b64-cluster-ca {CA} "
                        "--dns-cluster-ip 172.20.0.10")
        (result,) = Case(b64(user_data), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.FAIL
        assert "--dns-cluster-ip 172.20.0.10 is outside the cluster's service CIDR " \
               "10.96.0.0/16" in result.message

    def test_gzip_user_data(self) -> None:
        (result,) = Case(b64(gzip.compress(GOOD_AL2.encode()))).results()
        assert result.status is Status.PASS
        assert result.data["layers"] == ["base64", "gzip"]

    def test_templatefile_output_rendered_by_the_loader(self) -> None:
        template = textwrap.dedent("""\
            #!/bin/bash
            B64_CLUSTER_CA=%s
            API_SERVER_URL=%s
            /etc/eks/bootstrap.sh main --b64-cluster-ca $B64_CLUSTER_CA \\
              --apiserver-endpoint $API_SERVER_URL
            """) % (CA, ENDPOINT)
        (result,) = Case(b64(template)).results()
        assert result.status is Status.PASS

    def test_unknown_extra_args_variable(self) -> None:
        (result,) = Case(b64(al2("$BOOTSTRAP_EXTRA_ARGS"))).results()
        assert result.status is Status.UNKNOWN
        assert "$BOOTSTRAP_EXTRA_ARGS" in result.message


class TestAl2023:
    @staticmethod
    def nodeadm(cluster_fields: str) -> str:
        return textwrap.dedent("""\
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="BOUNDARY"

            --BOUNDARY
            Content-Type: application/node.eks.aws

            apiVersion: node.eks.aws/v1alpha1
            kind: NodeConfig
            spec:
              cluster:
                name: main
            %s
            --BOUNDARY--
            """) % textwrap.indent(cluster_fields, "    ")

    def test_pass(self) -> None:
        user_data = self.nodeadm(f"apiServerEndpoint: {ENDPOINT}\ncertificateAuthority: {CA}\n"
                                 "cidr: 10.96.0.0/16\n")
        (result,) = Case(b64(user_data), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.PASS
        assert result.data["layers"] == ["base64", "MIME multipart"]
        assert result.message.endswith("passes spec.cluster.apiServerEndpoint, "
                                       "spec.cluster.certificateAuthority, spec.cluster.cidr")

    def test_cidr_is_always_required(self) -> None:
        user_data = self.nodeadm(f"apiServerEndpoint: {ENDPOINT}\ncertificateAuthority: {CA}\n")
        (result,) = Case(b64(user_data)).results()
        assert result.status is Status.FAIL
        assert result.data["missing"] == ["spec.cluster.cidr"]

    def test_cidr_must_match_the_cluster(self) -> None:
        user_data = self.nodeadm(f"apiServerEndpoint: {ENDPOINT}\ncertificateAuthority: {CA}\n"
                                 "cidr: 172.20.0.0/16\n")
        (result,) = Case(b64(user_data), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.FAIL
        assert "spec.cluster.cidr is 172.20.0.0/16, but the cluster's service CIDR is " \
               "10.96.0.0/16" in result.message

    def test_missing_certificate_authority(self) -> None:
        user_data = self.nodeadm(f"apiServerEndpoint: {ENDPOINT}\ncidr: 10.100.0.0/16\n")
        (result,) = Case(b64(user_data)).results()
        assert result.status is Status.FAIL
        assert result.data["missing"] == ["spec.cluster.certificateAuthority"]


class TestWindows:
    @staticmethod
    def script(params: str) -> str:
        return ("<powershell>\n[string]$EKSBootstrapScriptFile = "
                "\"$env:ProgramFiles\\Amazon\\EKS\\Start-EKSBootstrap.ps1\"\n"
                f"& $EKSBootstrapScriptFile -EKSClusterName \"main\" {params} 3>&1 4>&1\n"
                "</powershell>\n")

    def test_pass(self) -> None:
        user_data = self.script(f"-APIServerEndpoint '{ENDPOINT}' -Base64ClusterCA '{CA}'")
        (result,) = Case(b64(user_data)).results()
        assert result.status is Status.PASS
        assert result.data["bootstrap"] == "windows"

    def test_service_cidr_needed_for_custom_cidr(self) -> None:
        user_data = self.script(f"-APIServerEndpoint '{ENDPOINT}' -Base64ClusterCA '{CA}'")
        (result,) = Case(b64(user_data), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.FAIL
        assert result.data["missing"] == ["-ServiceCIDR"]
        assert "-ServiceCIDR" in result.remediation

    def test_service_cidr_given(self) -> None:
        user_data = self.script(f"-APIServerEndpoint '{ENDPOINT}' -Base64ClusterCA '{CA}' "
                                "-ServiceCIDR '10.96.0.0/16'")
        (result,) = Case(b64(user_data), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.PASS

    def test_missing_ca(self) -> None:
        (result,) = Case(b64(self.script(f"-APIServerEndpoint '{ENDPOINT}'"))).results()
        assert result.status is Status.FAIL
        assert result.data["missing"] == ["-Base64ClusterCA"]


class TestScope:
    def test_unknown_user_data(self) -> None:
        (result,) = Case(Unknown("aws_launch_template.nodes.user_data is known only after "
                                 "apply", ("aws_eks_cluster.main",)),
                         tags={"kubernetes.io/cluster/main": "owned"}).results()
        assert result.status is Status.UNKNOWN
        # in a plan: the one action that decides it is scanning the HCL, which renders
        # the template around the endpoint
        assert result.message == (
            "aws_launch_template.nodes is the launch template of self-managed nodes, and its "
            "user data is not known (aws_launch_template.nodes.user_data is known only after "
            "apply: scan the HCL of this configuration, where the user data is rendered "
            "around the values known only after apply): cannot tell whether it passes the "
            "API server endpoint and CA")

    def test_unknown_user_data_of_an_unjoined_asg_is_not_checked(self) -> None:
        assert Case(Unknown("var.user_data")).results() == []

    def test_partially_rendered_template_decides(self) -> None:
        rendered = al2("--apiserver-endpoint ${aws_eks_cluster.main.endpoint} "
                       "--b64-cluster-ca ${aws_eks_cluster.main.certificate_authority[0].data}")
        value = Unknown("depends on aws_eks_cluster.main", ("aws_eks_cluster.main",),
                        partial=rendered)
        (result,) = Case(value).results()
        assert result.status is Status.PASS

    def test_tagged_asg_without_bootstrap_fails(self) -> None:
        (result,) = Case(b64("#!/bin/bash\nyum install -y amazon-ssm-agent\n"),
                         tags={"kubernetes.io/cluster/main": "owned"}).results()
        assert result.status is Status.FAIL
        assert "runs no EKS bootstrap" in result.message

    def test_tagged_asg_without_user_data_fails(self) -> None:
        (result,) = Case(None, tags={"kubernetes.io/cluster/main": "owned"}).results()
        assert result.status is Status.FAIL
        assert "has no user data" in result.message

    def test_plain_asg_not_joined_is_not_checked(self) -> None:
        assert Case(b64("#!/bin/bash\nyum install -y nginx\n")).results() == []

    def test_asg_joined_through_an_ec2_access_entry(self) -> None:
        graph = graph_of(
            cluster("main"),
            launch_template(user_data=None),
            asg(),
            resource("aws_iam_instance_profile.nodes", {"name": "nodes"}),
            resource("aws_iam_role.nodes", {"name": "nodes"}),
            resource("aws_eks_access_entry.nodes", {"type": "EC2_LINUX",
                                                    "cluster_name": "main"}),
            edges=[
                ("aws_autoscaling_group.nodes", "launch_template.id", "aws_launch_template.nodes"),
                ("aws_launch_template.nodes", "iam_instance_profile.name",
                 "aws_iam_instance_profile.nodes"),
                ("aws_iam_instance_profile.nodes", "role", "aws_iam_role.nodes"),
                ("aws_eks_access_entry.nodes", "principal_arn", "aws_iam_role.nodes"),
            ],
        )
        (result,) = run(self_managed_bootstrap, graph)
        assert (result.status, result.subject.address) == (Status.FAIL,
                                                           "aws_launch_template.nodes")

    def test_unused_launch_template_with_bootstrap_is_checked(self) -> None:
        graph = graph_of(cluster("main"), launch_template(
            user_data=b64(al2(f"--apiserver-endpoint {ENDPOINT}"))))
        (result,) = run(self_managed_bootstrap, graph)
        assert result.status is Status.FAIL

    def test_managed_node_group_without_custom_ami_is_not_checked(self) -> None:
        graph = graph_of(
            cluster("main"),
            launch_template(user_data=b64("#!/bin/bash\necho extra\n"), image_id=None),
            resource("aws_eks_node_group.default", {"cluster_name": "main"}),
            edges=[("aws_eks_node_group.default", "launch_template.id",
                    "aws_launch_template.nodes")],
        )
        assert run(self_managed_bootstrap, graph) == []

    def test_managed_node_group_with_custom_ami_is_checked(self) -> None:
        graph = graph_of(
            cluster("main"),
            launch_template(user_data=b64(al2(""))),
            resource("aws_eks_node_group.custom", {"cluster_name": "main"}),
            edges=[("aws_eks_node_group.custom", "launch_template.id",
                    "aws_launch_template.nodes"),
                   ("aws_eks_node_group.custom", "cluster_name", "aws_eks_cluster.main")],
        )
        (result,) = run(self_managed_bootstrap, graph)
        assert result.status is Status.FAIL
        # in its own words: a managed node group with a custom AMI, and the bootstrap
        assert result.message.startswith(
            "aws_launch_template.nodes (managed node group with a custom AMI: "
            "aws_eks_node_group.custom): Amazon Linux 2 /etc/eks/bootstrap.sh")
        assert "self-managed" not in result.message
        assert result.evidence == ("aws_eks_node_group.custom", "aws_launch_template.nodes",
                                   "aws_eks_cluster.main")

    def _managed(self, image_id: Any, configured: bool = True) -> list[Any]:
        template = launch_template(user_data=b64("#!/bin/bash\necho extra\n"),
                                   image_id=None)
        if configured:
            template.values["image_id"] = image_id
            assert template.configured is not None
            template.configured = template.configured | {"image_id"}
        graph = graph_of(
            cluster("main"), template,
            resource("aws_eks_node_group.default", {"cluster_name": "main"}),
            edges=[("aws_eks_node_group.default", "launch_template.id",
                    "aws_launch_template.nodes")],
        )
        return run(self_managed_bootstrap, graph)

    def test_empty_image_id_is_no_custom_ami(self) -> None:
        # terraform-aws-eks: `image_id = var.ami_id`, default "": EKS picks the AMI
        assert self._managed("") == []
        assert self._managed(None) == []

    def test_image_id_from_a_data_source_is_a_custom_ami(self) -> None:
        (result,) = self._managed(Unknown("data.aws_ami.eks is read from AWS",
                                          ("data.aws_ami.eks",)))
        assert result.status is Status.FAIL
        assert "managed node group with a custom AMI" in result.message

    def test_image_id_from_an_unset_variable_is_unknown_not_fail(self) -> None:
        (result,) = self._managed(Unknown("var.ami_id has no value"))
        assert result.status is Status.UNKNOWN
        assert result.message.endswith("whether image_id names one is not known: "
                                       "var.ami_id has no value: pass it with --var "
                                       "ami_id=VALUE or --var-file")

    PARTIAL_NODECONFIG = ("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n"
                          "  kubelet:\n    config:\n      shutdownGracePeriod: 30s\n")

    def test_a_settings_fragment_alone_is_not_a_bootstrap(self) -> None:
        # terraform-aws-eks wires its node group to the template through
        # `local.launch_template_id`, which a plan does not record: the template looks
        # unused, and its partial NodeConfig is what EKS merges, not a bootstrap
        for fragment in (self.PARTIAL_NODECONFIG, '[settings.kubernetes]\n"max-pods" = 110\n'):
            graph = graph_of(cluster("main"), launch_template(user_data=b64(fragment),
                                                              image_id=None))
            assert run(self_managed_bootstrap, graph) == []

    def test_a_node_config_naming_its_cluster_is_a_bootstrap(self) -> None:
        text = self.PARTIAL_NODECONFIG.replace("spec:\n", "spec:\n  cluster:\n    name: main\n")
        graph = graph_of(cluster("main"), launch_template(user_data=b64(text), image_id=None))
        (result,) = run(self_managed_bootstrap, graph)
        assert result.status is Status.FAIL

    def test_no_cluster_no_findings(self) -> None:
        graph = graph_of(launch_template(user_data=b64(al2(""))), asg(),
                         edges=[("aws_autoscaling_group.nodes", "launch_template.id",
                                 "aws_launch_template.nodes")])
        assert run(self_managed_bootstrap, graph) == []

    def test_launch_configuration_hash_in_a_plan_is_unknown(self) -> None:
        graph = graph_of(
            cluster("main"),
            resource("aws_launch_configuration.nodes", {
                "user_data": "0f6b7c2a0e1f9b8c7d6e5f4a3b2c1d0e9f8a7b6c", "image_id": "ami-1"}),
            resource("aws_autoscaling_group.nodes", {"tag": [
                {"key": "kubernetes.io/cluster/main", "value": "owned",
                 "propagate_at_launch": True}]}),
            edges=[("aws_autoscaling_group.nodes", "launch_configuration",
                    "aws_launch_configuration.nodes")],
        )
        (result,) = run(self_managed_bootstrap, graph)
        assert result.status is Status.UNKNOWN
        assert "SHA-1 hash" in result.message

    def test_which_cluster_by_name_in_user_data(self) -> None:
        graph = graph_of(
            cluster("blue", service_cidr="10.96.0.0/16"),
            cluster("green"),
            launch_template(user_data=b64(al2(
                f"--apiserver-endpoint {ENDPOINT} --b64-cluster-ca {CA}", "green"))),
        )
        (result,) = run(self_managed_bootstrap, graph)
        assert result.status is Status.PASS
        assert result.data["clusters"] == ["aws_eks_cluster.green"]

    def test_ambiguous_cluster_with_custom_cidr_is_unknown(self) -> None:
        graph = graph_of(
            cluster("blue", service_cidr="10.96.0.0/16"),
            cluster("green"),
            launch_template(user_data=b64(al2(
                f"--apiserver-endpoint {ENDPOINT} --b64-cluster-ca {CA}", "$CLUSTER"))),
        )
        (result,) = run(self_managed_bootstrap, graph)
        assert result.status is Status.UNKNOWN
        assert "several clusters" in result.message

    def test_bottlerocket(self) -> None:
        toml = (f'[settings.kubernetes]\ncluster-name = "main"\napi-server = "{ENDPOINT}"\n'
                f'cluster-certificate = "{CA}"\n')
        (result,) = Case(b64(toml)).results()
        assert result.status is Status.PASS
        assert result.data["bootstrap"] == "bottlerocket"

    BOTTLEROCKET = (f'[settings.kubernetes]\n"cluster-name" = "main"\n'
                    f'"api-server" = "{ENDPOINT}"\n"cluster-certificate" = "{CA}"\n')

    def test_bottlerocket_custom_service_cidr_needs_cluster_dns_ip(self) -> None:
        (result,) = Case(b64(self.BOTTLEROCKET), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.FAIL
        assert "does not pass settings.kubernetes.cluster-dns-ip" in result.message
        assert "custom service CIDR (10.96.0.0/16)" in result.message

    def test_bottlerocket_cluster_dns_ip_in_the_service_cidr(self) -> None:
        toml = self.BOTTLEROCKET + '"cluster-dns-ip" = "10.96.0.10"\n'
        (result,) = Case(b64(toml), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.PASS
        assert result.message.endswith("passes settings.kubernetes.api-server, "
                                       "settings.kubernetes.cluster-certificate, "
                                       "settings.kubernetes.cluster-dns-ip")

    def test_bottlerocket_cluster_dns_ip_outside_the_service_cidr(self) -> None:
        toml = self.BOTTLEROCKET + '"cluster-dns-ip" = "172.20.0.10"\n'
        (result,) = Case(b64(toml), service_cidr="10.96.0.0/16").results()
        assert result.status is Status.FAIL
        assert "172.20.0.10 is outside the cluster's service CIDR 10.96.0.0/16" in result.message

    def test_two_launch_templates(self) -> None:
        graph = graph_of(
            cluster("main"),
            launch_template("aws_launch_template.good", user_data=b64(GOOD_AL2)),
            launch_template("aws_launch_template.bad", user_data=b64(al2(""))),
        )
        assert verdicts(run(self_managed_bootstrap, graph)) == [
            ("fail", "aws_launch_template.bad"), ("pass", "aws_launch_template.good")]
        only(run(self_managed_bootstrap, graph), "aws_launch_template.bad", Status.FAIL)


class TestCloudinitConfig:
    NODE_CONFIG = textwrap.dedent(f"""\
        apiVersion: node.eks.aws/v1alpha1
        kind: NodeConfig
        spec:
          cluster:
            name: main
            apiServerEndpoint: {ENDPOINT}
            certificateAuthority: {CA}
        """)

    def graph(self, *parts: dict[str, Any]) -> Any:
        return graph_of(
            cluster("main"),
            launch_template(user_data=Unknown(
                "data.cloudinit_config.nodes is read at plan time",
                ("data.cloudinit_config.nodes",))),
            resource("data.cloudinit_config.nodes", {"gzip": False, "base64_encode": True,
                                                     "part": list(parts)}),
            edges=[("aws_launch_template.nodes", "user_data", "data.cloudinit_config.nodes")],
        )

    def test_parts_are_assembled(self) -> None:
        graph = self.graph(
            {"content_type": "application/node.eks.aws",
             "content": self.NODE_CONFIG + "    cidr: 10.100.0.0/16\n"},
            {"content_type": "text/x-shellscript", "content": "#!/bin/bash\necho hi\n"})
        (result,) = run(self_managed_bootstrap, graph)
        assert result.status is Status.PASS
        assert result.data["user_data_from"] == "data.cloudinit_config.nodes"

    def test_missing_cidr_fails(self) -> None:
        graph = self.graph({"content_type": "application/node.eks.aws",
                            "content": self.NODE_CONFIG})
        (result,) = run(self_managed_bootstrap, graph)
        assert result.status is Status.FAIL
        assert result.data["missing"] == ["spec.cluster.cidr"]

    def test_an_unknown_part_makes_a_failure_unknown(self) -> None:
        graph = self.graph({"content_type": "application/node.eks.aws",
                            "content": self.NODE_CONFIG},
                           {"content_type": "application/node.eks.aws",
                            "content": Unknown("var.extra_node_config")})
        (result,) = run(self_managed_bootstrap, graph)
        assert result.status is Status.UNKNOWN
        assert "data.cloudinit_config.nodes part 2 is not known before apply" in result.message


class TestThroughTheHclLoader:
    """End to end: heredocs and templatefile rendered by the HCL loader around unknowns."""

    CLUSTER = textwrap.dedent("""\
        resource "aws_eks_cluster" "main" {
          name     = "main"
          role_arn = "arn:aws:iam::111122223333:role/eks"
          vpc_config {
            subnet_ids              = ["subnet-0a1b2c3d4e5f60001"]
            endpoint_private_access = true
            endpoint_public_access  = false
          }
          kubernetes_network_config {
            service_ipv4_cidr = "10.96.0.0/16"
          }
        }
        """)

    def scan(self, tmp_path: Any, launch_template: str,
             files: dict[str, str] | None = None) -> list[Any]:
        from tfcheck.engine import scan

        (tmp_path / "main.tf").write_text(self.CLUSTER + launch_template, encoding="utf-8")
        for name, text in (files or {}).items():
            (tmp_path / name).write_text(text, encoding="utf-8")
        report = scan([str(tmp_path)], policies=[self_managed_bootstrap])
        assert report.input_errors == [] and report.internal_errors == []
        return report.findings

    def test_heredoc_with_unknown_endpoint(self, tmp_path: Any) -> None:
        (finding,) = self.scan(tmp_path, textwrap.dedent("""\
            resource "aws_launch_template" "nodes" {
              name_prefix = "nodes-"
              image_id    = "ami-0123456789abcdef0"
              user_data = base64encode(<<-EOT
                #!/bin/bash
                /etc/eks/bootstrap.sh ${aws_eks_cluster.main.name} \\
                  --apiserver-endpoint ${aws_eks_cluster.main.endpoint} \\
                  --b64-cluster-ca ${aws_eks_cluster.main.certificate_authority[0].data}
              EOT
              )
            }
            """))
        assert (finding.rule_id, finding.status.value, finding.address) == (
            "PC501", "fail", "aws_launch_template.nodes")
        assert finding.data["missing"] == ["--service-ipv4-cidr or --dns-cluster-ip"]
        assert finding.location.file == "main.tf"

    def test_templatefile_windows(self, tmp_path: Any) -> None:
        template = ("<powershell>\n& \"$env:ProgramFiles\\Amazon\\EKS\\Start-EKSBootstrap.ps1\" "
                    "-EKSClusterName '${cluster_name}' -APIServerEndpoint '${endpoint}' "
                    "-Base64ClusterCA '${ca}' -ServiceCIDR '${service_cidr}'\n</powershell>\n")
        (finding,) = self.scan(tmp_path, textwrap.dedent("""\
            resource "aws_launch_template" "windows" {
              name_prefix = "windows-"
              image_id    = "ami-0123456789abcdef0"
              user_data = base64encode(templatefile("${path.module}/windows.ps1.tftpl", {
                cluster_name = aws_eks_cluster.main.name
                endpoint     = aws_eks_cluster.main.endpoint
                ca           = aws_eks_cluster.main.certificate_authority[0].data
                service_cidr = "10.96.0.0/16"
              }))
            }
            """), {"windows.ps1.tftpl": template})
        assert (finding.status.value, finding.data["bootstrap"]) == ("pass", "windows")


def test_user_data_that_calls_describe_cluster_itself_fails() -> None:
    script = ("#!/bin/bash\n"
              "CA=$(aws eks describe-cluster --name main --query cluster.certificateAuthority.data "
              "--output text)\n"
              "EP=$(aws eks describe-cluster --name main --query cluster.endpoint --output text)\n"
              "/etc/eks/bootstrap.sh main --b64-cluster-ca $CA --apiserver-endpoint $EP\n")
    (result,) = Case(b64(script)).results()
    assert result.status is Status.FAIL
    assert "calls the EKS API itself (user data, line 2: aws eks describe-cluster)" in \
        result.message


def test_a_comment_mentioning_bootstrap_sh_is_not_a_bootstrap() -> None:
    graph = graph_of(cluster("main"), launch_template(
        user_data=b64("#!/bin/bash\n# not /etc/eks/bootstrap.sh here\nyum -y update\n")))
    assert run(self_managed_bootstrap, graph) == []
