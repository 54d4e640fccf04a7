"""Unknown is a property of a leaf: partly known manifests and Helm values (issue 8).

The HCL evaluator renders templates and `yamlencode`/`jsonencode` around values it
cannot compute, writing each unknown leaf as a `${<expression>}` placeholder in
`Unknown.partial`. These tests build such values by hand, in the shapes the evaluator
gives, so the reader is tested whether or not the evaluator side is present.
"""

from __future__ import annotations

import pytest

from tfcheck.model import Status, Unknown
from tfcheck.workloads import YamlRefused, read_workloads
from tfcheck.workloads.safe_yaml import load_partial_documents
from tfcheck_policies.cluster_autoscaler import cluster_autoscaler
from tfcheck_policies.image_registry import image_registry
from tfcheck_policies.lb_controller_flags import lb_controller_flags
from tfcheck_policies.sts_regional import sts_regional

from .workload_builders import cluster, graph_of, helm, kubectl, only, run

ROLE = "aws_iam_role.karpenter.arn"
AFTER_APPLY = Unknown(f"{ROLE} is known only after apply", (ROLE,))


def partial(text: str, unknown: Unknown = AFTER_APPLY) -> Unknown:
    return Unknown(unknown.reason, unknown.references, partial=text)


# yamlencode output (terraform quotes every key) with one unknown leaf
CA_VALUES = partial(
    '"extraArgs":\n  "aws-use-static-instance-list": true\n'
    '"image":\n  "repository": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/cluster-autoscaler"\n'
    '"rbac":\n  "serviceAccount":\n    "annotations":\n'
    f'      "eks.amazonaws.com/role-arn": "${{{ROLE}}}"\n')

NODE_CLASS = partial(
    "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata:\n  name: default\n"
    "spec:\n  amiSelectorTerms:\n    - alias: al2023@latest\n"
    "  role: ${module.karpenter.node_iam_role_name}\n"
    "  subnetSelectorTerms:\n    - tags:\n        karpenter.sh/discovery: ${var.cluster_name}\n",
    Unknown("variable cluster_name has no value: pass -var-file or --var",
            ("var.cluster_name", "module.karpenter.node_iam_role_name")))


class TestLoadPartialDocuments:
    def test_no_partial_text(self) -> None:
        assert load_partial_documents(AFTER_APPLY) is None

    def test_the_single_placeholder_keeps_the_reason(self) -> None:
        (document,) = load_partial_documents(CA_VALUES) or []
        role = document["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
        assert role == AFTER_APPLY
        assert document["extraArgs"] == {"aws-use-static-instance-list": True}

    def test_several_placeholders_name_their_expressions(self) -> None:
        (document,) = load_partial_documents(NODE_CLASS) or []
        role = document["spec"]["role"]
        assert isinstance(role, Unknown)
        assert role.reason == "module.karpenter.node_iam_role_name is not known"
        assert role.references == ("module.karpenter.node_iam_role_name",)
        tag = document["spec"]["subnetSelectorTerms"][0]["tags"]["karpenter.sh/discovery"]
        assert isinstance(tag, Unknown) and tag.references == ("var.cluster_name",)
        assert document["kind"] == "EC2NodeClass"

    def test_placeholder_inside_a_string(self) -> None:
        (document,) = load_partial_documents(partial(
            'arn: "arn:aws:iam::${var.account}:role/x"\nname: x\n')) or []
        assert isinstance(document["arn"], Unknown) and document["name"] == "x"

    def test_unparsable_partial_is_refused(self) -> None:
        with pytest.raises(YamlRefused):
            load_partial_documents(partial("a: [${var.x}\n"))


class TestManifests:
    def test_ec2_node_class_deploys_no_containers(self) -> None:
        graph = graph_of(cluster(), kubectl("kubectl_manifest.node_class", NODE_CLASS))
        found = read_workloads(graph)
        (obj,) = found.objects
        assert (obj.kind, obj.name, obj.pod) == ("EC2NodeClass", "default", None)
        assert found.problems == {}
        assert run(image_registry, graph) == []

    def test_deployment_with_unknown_image_is_unknown_for_that_container(self) -> None:
        body = partial("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                       "spec:\n  template:\n    spec:\n      containers:\n"
                       "        - name: web\n          image: ${var.image}\n"
                       "        - name: sidecar\n          image: nginx:1.25\n",
                       Unknown("variable image has no value", ("var.image",)))
        results = run(image_registry, graph_of(cluster(), kubectl("kubectl_manifest.web", body)))
        assert sorted(r.status.value for r in results) == ["fail", "unknown"]
        unknown = next(r for r in results if r.status is Status.UNKNOWN)
        assert "variable image has no value" in unknown.message

    def test_unknown_kind_is_a_problem_not_silence(self) -> None:
        body = partial("apiVersion: v1\nkind: ${var.kind}\nmetadata:\n  name: x\n",
                       Unknown("variable kind has no value", ("var.kind",)))
        graph = graph_of(cluster(), kubectl("kubectl_manifest.x", body))
        result = only(run(image_registry, graph), "kubectl_manifest.x")
        assert result.status is Status.UNKNOWN and "variable kind has no value" in result.message

    def test_placeholder_for_a_whole_block_stays_unknown(self) -> None:
        body = partial("apiVersion: v1\nkind: ConfigMap\ndata: {${var.data}\n")
        graph = graph_of(cluster(), kubectl("kubectl_manifest.x", body))
        assert read_workloads(graph).problems == {
            "kubectl_manifest.x": (f"yaml_body is not known ({AFTER_APPLY.reason})",)}


class TestHelmValues:
    def test_known_parts_answer_every_question(self) -> None:
        release = helm("helm_release.ca", "cluster-autoscaler", values=[CA_VALUES])
        graph = graph_of(cluster(), release)
        (found,) = read_workloads(graph).releases
        assert found.problems == ()
        assert isinstance(found.value(
            "rbac.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn"), Unknown)
        assert [r.status for r in run(cluster_autoscaler, graph)] == [Status.PASS]
        assert [r.status for r in run(image_registry, graph)] == [Status.PASS]
        # the role is unknown, but that a role is annotated is known: PC605 applies
        (sts,) = run(sts_regional, graph)
        assert sts.status is Status.FAIL

    def test_lb_controller_flags_read_around_an_unknown_leaf(self) -> None:
        values = partial('"clusterName": "main"\n"enableShield": false\n"enableWaf": false\n'
                         '"enableWafv2": false\n"serviceAccount":\n  "annotations":\n'
                         f'    "eks.amazonaws.com/role-arn": "${{{ROLE}}}"\n')
        graph = graph_of(cluster(), helm("helm_release.lbc", "aws-load-balancer-controller",
                                         values=[values]))
        assert [r.status for r in run(lb_controller_flags, graph)] == [Status.PASS]

    def test_missing_flag_fails_even_with_an_unknown_leaf(self) -> None:
        values = partial('"serviceAccount":\n  "annotations":\n'
                         f'    "eks.amazonaws.com/role-arn": "${{{ROLE}}}"\n')
        graph = graph_of(cluster(), helm("helm_release.ca", "cluster-autoscaler",
                                         values=[values]))
        assert [r.status for r in run(cluster_autoscaler, graph)] == [Status.FAIL]

    def test_unknown_subtree_answers_unknown_below_it(self) -> None:
        values = partial('"extraArgs": "${var.extra_args}"\n',
                         Unknown("variable extra_args has no value", ("var.extra_args",)))
        graph = graph_of(cluster(), helm("helm_release.ca", "cluster-autoscaler",
                                         values=[values]))
        (result,) = run(cluster_autoscaler, graph)
        assert result.status is Status.UNKNOWN and "extra_args" in result.message

    def test_whole_document_placeholder_is_a_problem(self) -> None:
        values = partial('"${var.values}"\n', Unknown("variable values has no value"))
        (found,) = read_workloads(graph_of(helm("helm_release.x", "cluster-autoscaler",
                                                values=[values]))).releases
        assert found.problems == ("values[0] is not known (variable values has no value)",)

    def test_values_without_partial_text_stay_a_problem(self) -> None:
        (found,) = read_workloads(graph_of(helm("helm_release.x", "cluster-autoscaler",
                                                values=[AFTER_APPLY]))).releases
        assert found.problems == (f"values[0] is not known ({AFTER_APPLY.reason})",)


class TestSetBlocks:
    def test_unknown_set_value_only_makes_its_leaf_unknown(self) -> None:
        release = helm("helm_release.ca", "cluster-autoscaler", sets={
            "extraArgs.aws-use-static-instance-list": "true",
            "image.repository": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ca",
        })
        release.values["set"].append({
            "name": "rbac.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn",
            "value": AFTER_APPLY, "type": None})
        graph = graph_of(cluster(), release)
        (found,) = read_workloads(graph).releases
        assert found.problems == ()
        assert [r.status for r in run(cluster_autoscaler, graph)] == [Status.PASS]
        assert [r.status for r in run(image_registry, graph)] == [Status.PASS]
