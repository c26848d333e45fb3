"""Credential formats found in log text: the rules :mod:`._secrets` redacts with (data only).

Most provider-token rules are taken, as data, from gitleaks' default rule set
(``config/gitleaks.toml`` of github.com/gitleaks/gitleaks at commit b58d3f1, July 2026):

    MIT License — Copyright (c) 2019 Zachary Rice. Permission is hereby granted, free of
    charge, to any person obtaining a copy of this software and associated documentation
    files (the "Software"), to deal in the Software without restriction, including without
    limitation the rights to use, copy, modify, merge, publish, distribute, sublicense,
    and/or sell copies of the Software, and to permit persons to whom the Software is
    furnished to do so, subject to the following conditions: The above copyright notice and
    this permission notice shall be included in all copies or substantial portions of the
    Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.

Why gitleaks rather than detect-secrets' plugins: gitleaks' rules are maintained data
(one regex, a capture group and literal keywords per provider, updated as providers change
their token formats; its last change is weeks old, detect-secrets' last release is from
2024), they carry the keywords this module uses as a cheap prefilter, and they port to
Python's ``re`` unchanged. Changes made here: gitleaks' entropy thresholds are not applied
(a redactor prefers a masked false positive to a leaked token), ``glpat-`` accepts longer
(newer) tokens, and the rules gitleaks lacks or keeps only as its noisy ``generic-api-key``
(AWS secret keys, ``password=``-style assignments, credentials in URLs, ``Authorization``
headers, multi-line PEM blocks) are juggler's own, marked ``origin="juggler"``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RULES", "SecretRule"]

# gitleaks' end-of-token guard: a backtick, quote, space, ``;``, an escaped newline or the end.
_END = r"""(?=[\x60'"\s;]|\\[nr]|$)"""


@dataclass(frozen=True, slots=True)
class SecretRule:
    """One credential format.

    Attributes:
        id: The rule's name (gitleaks' id where it comes from there).
        kind: The marker's type: the secret becomes ``[redacted:<kind>]``.
        regex: A Python regex; group ``group`` is the secret (0: the whole match).
        keywords: Lower-case literals, one of which any match contains: a line holding
            none of them is not searched with this rule.
        group: The capture group replaced by the marker.
        origin: ``"gitleaks"`` (taken as data, MIT) or ``"juggler"``.
    """

    id: str
    kind: str
    regex: str
    keywords: tuple[str, ...]
    group: int = 0
    origin: str = "gitleaks"


RULES: tuple[SecretRule, ...] = (
    # --- GitHub -------------------------------------------------------------------------
    SecretRule("github-pat", "github-token", r"ghp_[0-9a-zA-Z]{36}", ("ghp_",)),
    SecretRule("github-fine-grained-pat", "github-token", r"github_pat_\w{82}", ("github_pat_",)),
    SecretRule("github-oauth", "github-token", r"gho_[0-9a-zA-Z]{36}", ("gho_",)),
    SecretRule(
        "github-app-token", "github-token", r"(?:ghu|ghs)_[0-9a-zA-Z]{36}", ("ghu_", "ghs_")
    ),
    SecretRule("github-refresh-token", "github-token", r"ghr_[0-9a-zA-Z]{36}", ("ghr_",)),
    # --- GitLab -------------------------------------------------------------------------
    SecretRule("gitlab-pat", "gitlab-token", r"glpat-[\w.-]{20,300}", ("glpat-",)),
    SecretRule("gitlab-ptt", "gitlab-token", r"glptt-[0-9a-f]{40}", ("glptt-",)),
    SecretRule("gitlab-rrt", "gitlab-token", r"GR1348941[\w-]{20}", ("gr1348941",)),
    SecretRule("gitlab-runner-authentication-token", "gitlab-token", r"glrt-[\w-]{20}", ("glrt-",)),
    SecretRule("gitlab-deploy-token", "gitlab-token", r"gldt-[\w-]{20}", ("gldt-",)),
    SecretRule(
        "gitlab-cicd-job-token", "gitlab-token", r"glcbt-[0-9a-zA-Z]{1,5}_[\w-]{20}", ("glcbt-",)
    ),
    # --- AWS ----------------------------------------------------------------------------
    SecretRule(
        "aws-access-token",
        "aws-access-key",
        r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        ("a3t", "akia", "asia", "abia", "acca"),
        group=1,
    ),
    SecretRule(
        "aws-secret-key",
        "aws-secret-key",
        # A 40-character key assigned to a name that says AWS or secret access key.
        r"(?i)(?:aws|secret[_-]?access)[\w.-]{0,40}[\"']?\s*(?:[:=]|=>)\s*[\"']?"
        r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        ("aws", "secret_access", "secret-access", "secretaccess"),
        group=1,
        origin="juggler",
    ),
    # --- Slack --------------------------------------------------------------------------
    SecretRule(
        "slack-webhook-url",
        "slack-webhook",
        r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}",
        ("hooks.slack.com",),
    ),
    SecretRule(
        "slack-bot-token", "slack-token", r"xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*", ("xoxb",)
    ),
    SecretRule(
        "slack-user-token",
        "slack-token",
        r"xox[pe](?:-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34}",
        ("xoxp", "xoxe"),
    ),
    SecretRule("slack-app-token", "slack-token", r"(?i)xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+", ("xapp",)),
    SecretRule(
        "slack-legacy-token",
        "slack-token",
        # gitleaks' legacy bot/workspace/user rules folded into one, widened to any
        # ``xox?-`` token of at least 10 characters.
        r"\bxox[abposer]-[0-9A-Za-z-]{10,}",
        ("xox",),
        origin="juggler",
    ),
    # --- Google, Stripe, npm, PyPI ---------------------------------------------------------
    SecretRule("gcp-api-key", "google-api-key", r"\b(AIza[\w-]{35})" + _END, ("aiza",), group=1),
    SecretRule(
        "stripe-access-token",
        "stripe-key",
        r"\b((?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99})" + _END,
        ("sk_test", "sk_live", "sk_prod", "rk_test", "rk_live", "rk_prod"),
        group=1,
    ),
    SecretRule(
        "npm-access-token", "npm-token", r"(?i)\b(npm_[a-z0-9]{36})" + _END, ("npm_",), group=1
    ),
    SecretRule(
        "pypi-upload-token",
        "pypi-token",
        r"pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}",
        ("pypi-ageichlwas5vcmc",),
    ),
    # --- JWT, PEM -----------------------------------------------------------------------
    SecretRule(
        "jwt",
        "jwt",
        r"\b(ey[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9/\\_-]{17,}\.(?:[a-zA-Z0-9/\\_-]{10,}={0,2})?)" + _END,
        ("ey",),
        group=1,
    ),
    SecretRule(
        "private-key",
        "private-key",
        # One line holding a whole key (JSON with \n escapes); multi-line PEM blocks are
        # redacted line by line by ``_secrets`` itself.
        r"(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        r"[\s\S-]{64,}?KEY(?: BLOCK)?-----",
        ("-----begin",),
    ),
    # --- juggler's own: assignments, headers, URLs --------------------------------------------
    SecretRule(
        "authorization-header",
        "auth-header",
        r"(?i)\b(?:authorization|proxy-authorization)[\"']?\s*[:=]\s*[\"']?"
        r"(?:bearer|basic|token|bot)\s+([A-Za-z0-9._~+/-]{6,}=*)",
        ("authorization",),
        group=1,
        origin="juggler",
    ),
    SecretRule(
        "bearer-token",
        "auth-header",
        r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{20,}=*)",
        ("bearer",),
        group=1,
        origin="juggler",
    ),
    SecretRule(
        "url-credentials",
        "url-password",
        r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s/:@\"'<>]+:([^\s/@\"'<>]+)@",
        ("://",),
        group=1,
        origin="juggler",
    ),
)
