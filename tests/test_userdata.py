"""User-data decoding and bootstrap recognition (tfcheck.userdata)."""

from __future__ import annotations

import base64
import gzip
import textwrap

import pytest

from tfcheck.model import Sensitive, Unknown
from tfcheck.userdata import (
    AL2,
    AL2023,
    BOTTLEROCKET,
    CA,
    DNS_CLUSTER_IP,
    ENDPOINT,
    SERVICE_CIDR,
    WINDOWS,
    DecodedUserData,
    decode_user_data,
    read_user_data,
)


def b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


AL2_SCRIPT = textwrap.dedent("""\
    #!/bin/bash
    set -ex
    B64_CLUSTER_CA=LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
    API_SERVER_URL=https://ABCD.gr7.eu-west-1.eks.amazonaws.com
    /etc/eks/bootstrap.sh main --kubelet-extra-args '--node-labels=role=worker' \\
      --b64-cluster-ca $B64_CLUSTER_CA --apiserver-endpoint $API_SERVER_URL \\
      --dns-cluster-ip 10.96.0.10
    """)

NODEADM_MIME = textwrap.dedent("""\
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="//"

    --//
    Content-Type: application/node.eks.aws

    ---
    apiVersion: node.eks.aws/v1alpha1
    kind: NodeConfig
    spec:
      cluster:
        name: main
        apiServerEndpoint: https://ABCD.gr7.eu-west-1.eks.amazonaws.com
        certificateAuthority: LS0tLS1CRUdJTg==
        cidr: 10.96.0.0/16

    --//
    Content-Type: text/x-shellscript; charset="us-ascii"

    #!/bin/bash
    echo "extra setup"

    --//--
    """)

WINDOWS_SCRIPT = textwrap.dedent("""\
    <powershell>
    [string]$EKSBinDir = "$env:ProgramFiles\\Amazon\\EKS"
    [string]$EKSBootstrapScriptName = 'Start-EKSBootstrap.ps1'
    [string]$EKSBootstrapScriptFile = "$EKSBinDir\\$EKSBootstrapScriptName"
    $CA = 'LS0tLS1CRUdJTg=='
    & $EKSBootstrapScriptFile -EKSClusterName "main" -APIServerEndpoint "https://x.eks.amazonaws.com" -Base64ClusterCA $CA -ServiceCIDR:"10.96.0.0/16" -KubeletExtraArgs "--node-labels=a=b" 3>&1 4>&1 5>&1 6>&1
    </powershell>
    """)  # noqa: E501


class TestDecoding:
    def test_base64_plain_script(self) -> None:
        decoded = decode_user_data(b64(AL2_SCRIPT))
        assert isinstance(decoded, DecodedUserData)
        assert decoded.layers == ("base64",)
        assert decoded.parts[0].content_type == "text/x-shellscript"
        assert decoded.text == AL2_SCRIPT

    def test_plain_text_is_taken_as_is(self) -> None:
        decoded = decode_user_data(AL2_SCRIPT)
        assert isinstance(decoded, DecodedUserData)
        assert decoded.layers == ()
        assert decoded.text == AL2_SCRIPT

    def test_base64_of_gzip(self) -> None:
        decoded = decode_user_data(b64(gzip.compress(AL2_SCRIPT.encode())))
        assert isinstance(decoded, DecodedUserData)
        assert decoded.layers == ("base64", "gzip")
        assert "bootstrap.sh main" in decoded.text

    def test_mime_multipart_parts_keep_their_types(self) -> None:
        decoded = decode_user_data(b64(NODEADM_MIME))
        assert isinstance(decoded, DecodedUserData)
        assert decoded.layers == ("base64", "MIME multipart")
        assert [p.content_type for p in decoded.parts] == [
            "application/node.eks.aws", "text/x-shellscript"]
        assert decoded.parts[0].where == "MIME part 1 (application/node.eks.aws)"

    def test_mime_part_with_base64_transfer_encoding_and_gzip(self) -> None:
        inner = b64(gzip.compress(b"#!/bin/bash\n/etc/eks/bootstrap.sh c1\n"))
        mime = (
            'Content-Type: multipart/mixed; boundary="B"\nMIME-Version: 1.0\n\n'
            "--B\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\n"
            f"{inner}\n--B--\n"
        )
        reading = read_user_data(b64(mime))
        assert [b.cluster_name for b in reading.bootstraps] == ["c1"]

    def test_unknown_stays_unknown(self) -> None:
        unknown = Unknown("known after apply", ("aws_eks_cluster.main",))
        assert decode_user_data(unknown) is unknown

    def test_sensitive_is_decoded_for_the_decision(self) -> None:
        decoded = decode_user_data(Sensitive(b64(AL2_SCRIPT)))
        assert isinstance(decoded, DecodedUserData)
        assert "bootstrap.sh" in decoded.text

    def test_gzip_bomb_is_refused(self) -> None:
        bomb = gzip.compress(b"A" * 5_000_000)
        decoded = decode_user_data(b64(bomb))
        assert isinstance(decoded, DecodedUserData)
        assert decoded.parts == ()
        assert "expands beyond" in decoded.problems[0]

    def test_include_url_is_a_problem(self) -> None:
        reading = read_user_data("#include\nhttps://example.com/bootstrap.txt\n")
        assert reading.bootstraps == ()
        assert reading.problems == ()  # plain #include is recognised by its type
        assert reading.decoded.parts[0].content_type == "text/x-include-url"  # type: ignore[union-attr]

    def test_none_is_no_user_data(self) -> None:
        decoded = decode_user_data(None)
        assert isinstance(decoded, DecodedUserData) and decoded.parts == ()


class TestAl2:
    def test_arguments_resolved_through_shell_variables(self) -> None:
        (boot,) = read_user_data(b64(AL2_SCRIPT)).bootstraps
        assert boot.kind == AL2
        assert boot.cluster_name == "main"
        assert boot.arguments == {
            CA: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
            ENDPOINT: "https://ABCD.gr7.eu-west-1.eks.amazonaws.com",
            DNS_CLUSTER_IP: "10.96.0.10",
        }
        assert boot.where == "user data, line 5"

    def test_missing_ca(self) -> None:
        (boot,) = read_user_data(
            "#!/bin/bash\n/etc/eks/bootstrap.sh main --apiserver-endpoint https://x\n"
        ).bootstraps
        assert boot.has(ENDPOINT) and not boot.has(CA)

    def test_empty_variable_counts_as_not_passed(self) -> None:
        (boot,) = read_user_data(
            "#!/bin/bash\nCA=\n/etc/eks/bootstrap.sh main --apiserver-endpoint https://x "
            "--b64-cluster-ca \"$CA\"\n"
        ).bootstraps
        assert boot.arguments[CA] == ""
        assert not boot.has(CA)

    def test_unrendered_placeholders_count_as_passed(self) -> None:
        (boot,) = read_user_data(
            "#!/bin/bash\n/etc/eks/bootstrap.sh ${cluster_name} "
            "--apiserver-endpoint '${endpoint}' --b64-cluster-ca '${ca}'\n"
        ).bootstraps
        assert boot.has(ENDPOINT) and boot.has(CA)
        assert boot.arguments[ENDPOINT] is None
        assert boot.cluster_name is None

    def test_extra_args_variable_is_unresolved(self) -> None:
        (boot,) = read_user_data(
            "#!/bin/bash\n/etc/eks/bootstrap.sh main $EXTRA_ARGS\n").bootstraps
        assert boot.unresolved == ("EXTRA_ARGS",)
        assert boot.arguments == {}

    def test_extra_args_variable_defined_in_script_is_expanded(self) -> None:
        (boot,) = read_user_data(
            "#!/bin/bash\nEXTRA='--apiserver-endpoint https://x --b64-cluster-ca Q0E='\n"
            "/etc/eks/bootstrap.sh main $EXTRA\n").bootstraps
        assert boot.has(ENDPOINT) and boot.has(CA)
        assert boot.unresolved == ()

    def test_equals_form_is_ignored_by_bootstrap_sh(self) -> None:
        (boot,) = read_user_data(
            "#!/bin/bash\n/etc/eks/bootstrap.sh main --apiserver-endpoint=https://x "
            "--b64-cluster-ca Q0E=\n").bootstraps
        assert not boot.has(ENDPOINT)
        assert boot.notes == ("--apiserver-endpoint=... is ignored: bootstrap.sh reads "
                              "'--apiserver-endpoint VALUE'",)

    def test_comments_and_mentions_are_not_calls(self) -> None:
        reading = read_user_data(
            "#!/bin/bash\n# /etc/eks/bootstrap.sh main\nchmod +x /etc/eks/bootstrap.sh\n")
        assert reading.bootstraps == ()

    def test_command_ends_at_separator(self) -> None:
        (boot,) = read_user_data(
            "#!/bin/bash\n/etc/eks/bootstrap.sh main && echo --apiserver-endpoint x\n"
        ).bootstraps
        assert not boot.has(ENDPOINT)

    def test_cloud_config_runcmd_list_form(self) -> None:
        (boot,) = read_user_data(textwrap.dedent("""\
            #cloud-config
            runcmd:
              - [/etc/eks/bootstrap.sh, main, --apiserver-endpoint, "https://x",
                 --b64-cluster-ca, "Q0E="]
            """)).bootstraps
        assert boot.kind == AL2
        assert boot.has(ENDPOINT) and boot.has(CA)
        assert boot.where == "user data cloud-config runcmd[0], line 1"


class TestAl2023:
    def test_node_config_in_mime(self) -> None:
        (boot,) = read_user_data(b64(NODEADM_MIME)).bootstraps
        assert boot.kind == AL2023
        assert boot.cluster_name == "main"
        assert boot.arguments == {
            ENDPOINT: "https://ABCD.gr7.eu-west-1.eks.amazonaws.com",
            CA: "LS0tLS1CRUdJTg==",
            SERVICE_CIDR: "10.96.0.0/16",
        }

    def test_node_config_as_plain_user_data(self) -> None:
        text = ("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n"
                "    name: main\n    apiServerEndpoint: https://x\n")
        (boot,) = read_user_data(b64(text)).bootstraps
        assert boot.kind == AL2023
        assert boot.has(ENDPOINT) and not boot.has(CA) and not boot.has(SERVICE_CIDR)

    def test_node_configs_are_merged(self) -> None:
        mime = (
            'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
            "--B\nContent-Type: application/node.eks.aws\n\n"
            "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n"
            "    apiServerEndpoint: https://x\n    certificateAuthority: Q0E=\n"
            "--B\nContent-Type: application/node.eks.aws\n\n"
            "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n"
            "    cidr: 10.96.0.0/16\n"
            "--B--\n"
        )
        (boot,) = read_user_data(mime).bootstraps
        assert boot.kind == AL2023
        assert set(boot.arguments) == {ENDPOINT, CA, SERVICE_CIDR}

    def test_alias_bomb_in_node_config_is_refused(self) -> None:
        bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
            for i in range(9)
        ) + "kind: NodeConfig\n"
        reading = read_user_data(bomb)
        assert reading.bootstraps == ()
        assert "could not be read" in reading.problems[0]


    def test_setting_names_decide_not_values(self) -> None:
        # a template rendered around values known only after apply: the expressions
        # stay as `${...}`, and may hold characters that YAML would choke on
        text = textwrap.dedent("""\
            apiVersion: node.eks.aws/v1alpha1
            kind: NodeConfig
            spec:
              cluster:
                name: ${aws_eks_cluster.main.name}
                apiServerEndpoint: ${aws_eks_cluster.main.endpoint}
                certificateAuthority: ${lookup({"a": "b: c"}, "a", "#")}
                cidr: "${aws_eks_cluster.main.kubernetes_network_config[0].service_ipv4_cidr}"
            """)
        reading = read_user_data(Unknown("aws_eks_cluster.main.endpoint is known only after "
                                         "apply", partial=text))
        (boot,) = reading.bootstraps
        assert reading.problems == ()
        assert boot.kind == AL2023
        assert boot.arguments == {ENDPOINT: None, CA: None, SERVICE_CIDR: None}
        assert boot.has(ENDPOINT) and boot.has(CA) and boot.has(SERVICE_CIDR)


class TestWindows:
    def test_arguments_through_variables_and_colon_form(self) -> None:
        (boot,) = read_user_data(b64(WINDOWS_SCRIPT)).bootstraps
        assert boot.kind == WINDOWS
        assert boot.cluster_name == "main"
        assert boot.arguments == {
            ENDPOINT: "https://x.eks.amazonaws.com",
            CA: "LS0tLS1CRUdJTg==",
            SERVICE_CIDR: "10.96.0.0/16",
        }

    def test_parameters_are_case_insensitive(self) -> None:
        (boot,) = read_user_data(
            "<powershell>\n& 'C:\\Program Files\\Amazon\\EKS\\Start-EKSBootstrap.ps1' "
            "-eksclustername main -apiserverendpoint https://x\n</powershell>").bootstraps
        assert boot.has(ENDPOINT) and not boot.has(CA)

    def test_eks_startup_script_name(self) -> None:
        (boot,) = read_user_data(
            "<powershell>\n& \"$env:ProgramFiles\\Amazon\\EKS\\EKS-StartupScript.ps1\" "
            "-EKSClusterName main -APIServerEndpoint https://x -Base64ClusterCA Q0E=\n"
            "</powershell>").bootstraps
        assert boot.kind == WINDOWS and boot.has(CA)


class TestBottlerocket:
    def test_settings_kubernetes(self) -> None:
        (boot,) = read_user_data(b64(
            '[settings.kubernetes]\napi-server = "https://x"\ncluster-certificate = "Q0E="\n'
            'cluster-name = "main"\n')).bootstraps
        assert boot.kind == BOTTLEROCKET
        assert boot.cluster_name == "main"
        assert boot.has(ENDPOINT) and boot.has(CA) and not boot.has(DNS_CLUSTER_IP)


    def test_placeholders_quoted_keys_and_dns_ip(self) -> None:
        # the terraform-aws-eks Bottlerocket template shape, rendered around unknowns
        text = ('[settings.kubernetes]\n"cluster-name" = "${cluster_name}"\n'
                '"api-server" = "${aws_eks_cluster.this[0].endpoint}"\n'
                '"cluster-certificate" = ${aws_eks_cluster.this[0].certificate_authority[0].data}\n'
                '"cluster-dns-ip" = "10.96.0.10"\n')
        (boot,) = read_user_data(text).bootstraps
        assert boot.kind == BOTTLEROCKET
        assert boot.has(ENDPOINT) and boot.has(CA)
        assert boot.arguments[DNS_CLUSTER_IP] == "10.96.0.10"

    def test_settings_without_api_server(self) -> None:
        (boot,) = read_user_data('[settings.kubernetes]\nmax-pods = 110\n').bootstraps
        assert not boot.has(ENDPOINT) and not boot.has(CA)


@pytest.mark.parametrize("text", [
    "#!/bin/bash\nyum install -y htop\n",
    "",
    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B--\n",
])
def test_user_data_without_bootstrap(text: str) -> None:
    reading = read_user_data(text)
    assert reading.bootstraps == ()
    assert not reading.mentions_eks


def test_tests_for_the_script_are_not_calls() -> None:
    script = ("#!/bin/bash\nif [ -f /etc/eks/bootstrap.sh ]; then /etc/eks/bootstrap.sh main "
              "--apiserver-endpoint https://x --b64-cluster-ca Q0E=; fi\n"
              "test -x /etc/eks/bootstrap.sh && echo ok\n")
    (boot,) = read_user_data(script).bootstraps
    assert boot.cluster_name == "main"
    assert boot.has(ENDPOINT) and boot.has(CA)
