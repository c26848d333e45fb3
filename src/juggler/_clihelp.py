"""The longer texts of ``juggler --help``: examples, exit codes, variables, settings.

Kept apart from the command definitions so the option code stays short. Click rewraps help
paragraphs; a paragraph that starts with ``\\b`` keeps its line breaks.
"""

from __future__ import annotations

EXIT_CODES = """\
\b
Exit codes:
  0    ok
  1    partial: some input was refused, the rest was triaged
  2    usage or configuration error (bad option, unreadable config, unusable output path)
  3    every input was refused
  4    a delivery failed (memo files, GitHub summary, Slack or a webhook)
  5    internal error (a bug: --debug shows the traceback)
  130  interrupted (Ctrl-C or SIGTERM)
When several apply, 3 wins over 4, and 4 over 1."""

COMPLETION = """\
\b
Shell completion (add the line to your shell's startup file):
  bash: eval "$(_JUGGLER_COMPLETE=bash_source juggler)"
  zsh:  eval "$(_JUGGLER_COMPLETE=zsh_source juggler)"
  fish: _JUGGLER_COMPLETE=fish_source juggler | source"""

CONFIG = """\
\b
Configuration, highest precedence first:
  command-line options
  JUGGLER_<OPTION> environment variables (JUGGLER_OUT_DIR, JUGGLER_FORMATS=md,html, ...)
  --config FILE, or else juggler.toml / pyproject.toml [tool.juggler] in the working
    directory or the nearest folder above it, up to the project root (.git)
  juggler.toml in the user config folder (~/.config/juggler on Linux)"""

ROOT_EPILOG = f"""\
\b
Examples:
  juggler triage build.log --baseline last-green.log
  juggler kb list
  juggler demo --trace run.html

{EXIT_CODES}

{CONFIG}

{COMPLETION}"""


def triage_epilog(variables: dict[str, str]) -> str:
    """The epilog of ``juggler triage --help``, listing every ``JUGGLER_*`` variable."""
    names = sorted(variables)
    rows = [", ".join(names[i : i + 3]) for i in range(0, len(names), 3)]
    listed = "\n".join(f"  {row}" for row in rows)
    return f"""\
\b
Examples:
  juggler triage build.log                          # headline, then the top findings
  juggler triage build.log --baseline green.log     # lines new against a passing run rise
  juggler triage logs.zip --json > triage.json      # one JSON document on stdout
  juggler triage build.log --out-dir memo --trace memo/run.html
  juggler triage build.log --learn --cause flaky-dns --fix "pin the resolver"

\b
Notifications (in juggler.toml, [tool.juggler] or JUGGLER_* variables):
  slack_webhook_url   Slack incoming-webhook URL; its path is the secret, so prefer
                      JUGGLER_SLACK_WEBHOOK_URL from your CI's secret store
  webhook_urls        JSON webhooks (comma-separated in JUGGLER_WEBHOOK_URLS); each POST
                      is signed with HMAC-SHA256 when the variable webhook_secret_env
                      names (default JUGGLER_WEBHOOK_SECRET) holds a secret
  webhook_attempts, webhook_timeout_s, webhook_backoff_s   retries and their pace
  github              auto (inside GitHub Actions), on or off: job summary + annotations
Memo files, Slack and webhooks go out when an output folder is set (--out-dir or out_dir);
the GitHub summary and annotations are written inside Actions with or without one.

\b
Environment variables:
{listed}

{EXIT_CODES}"""
