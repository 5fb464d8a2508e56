"""CI for a case repository: the workflow file that checks every push with
`casectl validate` and `casectl audit`, for GitHub Actions or GitLab CI.

`init --ci PROVIDER` puts it in the init commit; `casectl ci PROVIDER`
gives it to a desk that exists already, in a commit of its own.
"""

from __future__ import annotations

from pathlib import Path

from .. import __version__, journal, roles, store, transaction
from ..errors import RuleViolation
from .actions import role_refusal
from .session import Session

# Where each CI looks for its configuration.
PROVIDERS = {"github": ".github/workflows/casectl.yml", "gitlab": ".gitlab-ci.yml"}
NAMES = {"github": "GitHub Actions workflow", "gitlab": "GitLab CI pipeline"}

# The range a push brought, in each CI's shell: checked only when its first
# commit is here. A new branch's push gives an all-zero sha, a manual run
# none, a force push may give a commit no longer in the history: then
# everything is checked.
_HAVE_BEFORE = 'if [ -n "$BEFORE" ] && git cat-file -e "$BEFORE^{commit}" 2>/dev/null; then'

_GITHUB = """\
# casectl checks this case repository on every push (written by casectl
# {version}: `casectl init --ci github` or `casectl ci github`): the case
# files the push added or changed, and casectl.yaml, against the desk's
# schemas and rules (`casectl validate`, problems shown on the files'
# lines), then the history the push added (`casectl audit`). A new branch
# or a manual run ("Run workflow") checks everything.
#
# Which casectl it installs: CASECTL_REQUIREMENT, a pip requirement pinned
# to the casectl that wrote this file. To pin another, set a repository
# variable CASECTL_REQUIREMENT (Settings > Secrets and variables > Actions
# > Variables), e.g. casectl==0.4.0 or
# git+https://git.example.no/tools/casectl.git@v0.4.0 ; or edit it below.
name: casectl

"on":
  push:
  pull_request:
  workflow_dispatch:

permissions:
  contents: read

jobs:
  casectl:
    runs-on: ubuntu-latest
    env:
      CASECTL_REQUIREMENT: ${{{{ vars.CASECTL_REQUIREMENT || '{requirement}' }}}}
      # The commit before the push (a pull request's base): the range to check.
      BEFORE: ${{{{ github.event.pull_request.base.sha || github.event.before }}}}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # the whole history: the range to check, and audit's
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install casectl
        run: python -m pip install "$CASECTL_REQUIREMENT"
      - name: casectl validate
        run: |
          {have_before}
            casectl validate --changed-since "$BEFORE" --format github
          else
            casectl validate --format github
          fi
      - name: casectl audit
        if: ${{{{ !cancelled() }}}}
        run: |
          {have_before}
            casectl audit --since "$BEFORE"
          else
            casectl audit
          fi
"""

_GITLAB = """\
# casectl checks this case repository on every push (written by casectl
# {version}: `casectl init --ci gitlab` or `casectl ci gitlab`): the case
# files the push added or changed, and casectl.yaml, against the desk's
# schemas and rules (`casectl validate`, a JUnit report shown in the
# pipeline's Tests tab and kept as an artifact), and the history the push
# added (`casectl audit`). A new branch's first push checks everything.
#
# Which casectl it installs: CASECTL_REQUIREMENT, a pip requirement pinned
# to the casectl that wrote this file. To pin another, set a CI/CD variable
# CASECTL_REQUIREMENT (Settings > CI/CD > Variables; it wins over this
# file), e.g. casectl==0.4.0 or
# git+https://git.example.no/tools/casectl.git@v0.4.0 ; or edit it below.
variables:
  CASECTL_REQUIREMENT: "{requirement}"
  GIT_DEPTH: "0"  # the whole history: the range to check, and audit's

.casectl:
  image: python:3.12  # with git, which casectl needs
  before_script:
    - python -m pip install "$CASECTL_REQUIREMENT"

casectl-validate:
  extends: .casectl
  script:
    - |
      BEFORE="${{CI_MERGE_REQUEST_DIFF_BASE_SHA:-$CI_COMMIT_BEFORE_SHA}}"
      {have_before}
        casectl validate --changed-since "$BEFORE" --format junit > casectl-validate.xml
      else
        casectl validate --format junit > casectl-validate.xml
      fi
  artifacts:
    when: always
    paths:
      - casectl-validate.xml
    reports:
      junit: casectl-validate.xml

casectl-audit:
  extends: .casectl
  script:
    - |
      BEFORE="${{CI_MERGE_REQUEST_DIFF_BASE_SHA:-$CI_COMMIT_BEFORE_SHA}}"
      {have_before}
        casectl audit --since "$BEFORE"
      else
        casectl audit
      fi
"""

_TEMPLATES = {"github": _GITHUB, "gitlab": _GITLAB}


def requirement() -> str:
    """The pip requirement a workflow installs by default: this casectl,
    whose schemas the desk was laid out (or upgraded) with."""
    return f"casectl=={__version__}"


def workflow(provider: str) -> str:
    """The text of ``provider``'s CI file."""
    return _TEMPLATES[provider].format(version=__version__, requirement=requirement(),
                                       have_before=_HAVE_BEFORE)


def install(session: Session, provider: str, force: bool = False) -> tuple[str, bool]:
    """Write ``provider``'s CI file into the desk and commit it (Action: ci);
    its path, and whether anything changed (False: it was there as it is).

    The file is desk configuration (it decides what every push is checked
    against), so where roles are enforced it takes the admin role. A file
    there already that differs (the desk's own edits) is replaced only with
    ``force``."""
    agent, _ = session.actor()
    config = session.config.data
    refusal = roles.lacks_role(config, agent, roles.CONFIG_ROLE, "change the desk's CI")
    if refusal:
        raise role_refusal(refusal, on_case=False)
    path = PROVIDERS[provider]
    text = workflow(provider)
    with store.locked(session.root):
        transaction.recover(session.root)
        current = _read(session.root / path)
        if current == text:
            return path, False
        if current is not None and not force:
            raise RuleViolation("ci-file-kept", f"{path} exists already and is not the one "
                                f"this casectl writes",
                                "keep it, or replace it with --force (the old one stays in "
                                "git history)")
        # Through the session: committed by who ran casectl, signed when
        # their git says so, like every other commit casectl makes.
        session.commit_files({path: text}, journal.message(
            f"casectl ci: {NAMES[provider]}", [("Action", "ci"), ("Agent", agent)]))
    return path, True


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""  # there but unreadable: not ours, so kept unless --force
