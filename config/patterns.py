"""The name rules of the systems that receive the stack's names, and what each means in words.

Every pattern is the rule of the system the value ends up in (Kubernetes, OSS, ACK, ECS, SLS, TF
Serving's URL), so a name that passes here is one that system accepts; `pattern()` turns a rule
into a pydantic check whose error says in words what is allowed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

from pydantic import AfterValidator

# Kubernetes: RFC 1123 label (namespaces), RFC 1035 label (Service names), RFC 1123 subdomain.
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS1035_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# Ingress host: a DNS-1123 subdomain with at least one dot, optionally a leading wildcard label.
INGRESS_HOST = (
    r"^(?=.{1,253}$)(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
    r"(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$"
)
# OSS bucket: 3-63 characters, lowercase letters, digits and hyphens, no hyphen at either end.
OSS_BUCKET = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
# OSS object key prefix as we use it: path segments without empty, '.' or '..' parts.
OSS_PREFIX = r"^(?!.*(^|/)\.{1,2}(/|$))[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$"
# TF Serving model name: it appears in URLs (/v1/models/<name>) and in Kubernetes labels.
MODEL_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# ACK cluster id: 'c' and 32 hex digits.
CLUSTER_ID = r"^c[0-9a-f]{32}$"
ECS_INSTANCE_TYPE = r"^ecs\.[a-z0-9-]+\.[a-z0-9-]+$"
VSWITCH_ID = r"^vsw-[a-z0-9]+$"
# SLS project: 3-63, lowercase, digits, '-'; logstore also allows '_'.
SLS_PROJECT = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
SLS_LOGSTORE = r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$"
# A Kubernetes resource quantity as we accept it (no exponents, no signs).
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
# Image reference: [registry/]repo[:tag][@sha256:digest]; the tag or digest part is checked below.
IMAGE = r"^[a-z0-9]+([._/-]?[a-z0-9]+|[.:][0-9]+/)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
# A registry namespace holding copies of images: a host (with a dot, so it is no Docker Hub
# repository name) and an optional port, then one or more path segments.
REGISTRY_MIRROR = (r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+(:[0-9]{1,5})?"
                   r"(/[a-z0-9]+([._-][a-z0-9]+)*)+$")
LABEL_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"  # optional DNS prefix and '/'
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
KEY_PAIR = r"^[A-Za-z][A-Za-z0-9._:-]{1,127}$"
DRIVER_VERSION = r"^[0-9]{3}\.[0-9]{1,3}(\.[0-9]{1,3})?$"
INT64_MAX = 2**63 - 1


# What each rule means in words: a regex in an error message helps nobody.
RULE_TEXT = {
    DNS1123_LABEL: "a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
    "starting and ending with a letter or digit",
    DNS1035_LABEL: "a DNS-1035 label: at most 63 lowercase letters, digits and '-', "
    "starting with a letter and ending with a letter or digit",
    DNS1123_SUBDOMAIN: "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', "
    "each part starting and ending with a letter or digit",
    INGRESS_HOST: "a lowercase DNS host name with at least one dot "
    "(e.g. bert.example.com, or *.example.com)",
    OSS_BUCKET: "an OSS bucket name: 3-63 lowercase letters, digits and '-', "
    "starting and ending with a letter or digit",
    OSS_PREFIX: "an object key prefix: path segments of letters, digits, '.', '_' and '-' "
    "separated by '/', no leading or trailing '/', no '.' or '..' segments",
    KEY_PAIR: "an ECS key pair name: 2-128 letters, digits, '.', '_', ':' or '-', starting with a letter",
    DRIVER_VERSION: "an NVIDIA driver version from ACK's list, such as 550.144.03",
    MODEL_NAME: "lowercase letters, digits, '-' and '_', starting with a letter or digit, "
    "at most 63 characters",
    CLUSTER_ID: "an ACK cluster id: 'c' followed by 32 lowercase hex digits",
    ECS_INSTANCE_TYPE: "an ECS instance type such as ecs.gn6i-c4g1.xlarge",
    VSWITCH_ID: "a vSwitch id such as vsw-2ze0123456789abcdefgh",
    SLS_LOGSTORE: "an SLS logstore name: 3-63 lowercase letters, digits, '_' and '-'",
    QUANTITY: "a Kubernetes quantity such as 4, 500m, 12Gi",
    IMAGE: "an image reference such as registry/repo:tag or repo@sha256:<digest>",
    REGISTRY_MIRROR: "a registry and namespace such as registry-vpc.cn-beijing.aliyuncs.com/acme",
}


def foreign_characters(value: str) -> Optional[str]:
    """The characters of `value` outside printable ASCII, named (a look-alike letter pasted from a
    document, a zero-width space): every name rule here is ASCII, so they are what is wrong."""
    odd = sorted({ch for ch in value if not " " <= ch <= "~"}, key=value.index)
    if not odd:
        return None
    named = [f"U+{ord(ch):04X} {unicodedata.name(ch, 'a control character')}" for ch in odd[:3]]
    return "it contains " + ", ".join(named) + (", ..." if len(odd) > 3 else "")


def pattern(regex: str, max_length: Optional[int] = None, what: Optional[str] = None):
    """A string rule whose error says in words (`what`, or RULE_TEXT) what is allowed. The whole
    value must match (`fullmatch`: a `$` alone lets a trailing newline through)."""
    compiled = re.compile(regex)
    text = what if what is not None else RULE_TEXT[regex]

    def check(value: str) -> str:
        if not compiled.fullmatch(value) or (max_length is not None and len(value) > max_length):
            odd = foreign_characters(value)
            raise ValueError(f"must be {text}" + (f" ({odd})" if odd else ""))
        return value

    return AfterValidator(check)
