"""The desk: a fictional Nordic shared service desk for healthcare IT.

It takes cases from Norwegian municipalities and hospitals, Swedish regions
(1177 e-tjänster) and Danish regions, so its agents have Norwegian, Swedish
and Danish names. Mail domains end in .example so no real mailbox is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

DESK_NAME: Final = "Nordisk helse-IKT servicedesk"
DESK_TZ_NAME: Final = "Europe/Oslo"
# Oslo, Stockholm and Copenhagen share CET/CEST, so one zone gives correct
# offsets (including the March and October DST switches) for all three.
DESK_TZ: Final = ZoneInfo(DESK_TZ_NAME)
MAIL_DOMAIN: Final = "helseikt.example"

# Nordic letters as they are spelt in mail addresses.
FOLD: Final = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "é": "e",
                             "Æ": "Ae", "Ø": "O", "Å": "A", "Ä": "A", "Ö": "O"})


def mailbox(name: str) -> str:
    """The local part of a person's mail address: 'Søren Bæk' -> 'soren.baek'."""
    return name.lower().translate(FOLD).replace(" ", ".")


@dataclass(frozen=True)
class Team:
    id: str
    name: str

    @property
    def email(self) -> str:
        return f"{self.id}@{MAIL_DOMAIN}"


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    teams: tuple[str, ...]  # the first is the home team: `take` moves a case there
    roles: tuple[str, ...]

    @property
    def email(self) -> str:
        return f"{mailbox(self.name)}@{MAIL_DOMAIN}"

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


TEAMS: Final = [
    Team("servicedesk", "Servicedesk"),
    Team("k-ikt", "Kommune-IKT"),
    Team("e-helse", "E-helse"),
    Team("nettverk", "Nettverk"),
    Team("klinisk-app", "Kliniske applikasjoner"),
    Team("server", "Servergruppen"),
    Team("arbeidsplass", "Arbeidsplasstjenester"),
]

AGENTS: Final = [
    # The desk lead comes first: once one agent is listed, only listed agents
    # may act, so the admin who adds the others must already be there.
    Agent("ingrid", "Ingrid Sæther", ("servicedesk",),
          ("receiver", "handler", "admin", "permission-admin")),
    # K-IKT first: the examples' night case, taken over by Bjørn at the shift
    # change, stays in K-IKT because `take` moves a case to the taker's home team.
    Agent("bjorn", "Bjørn Åsheim", ("k-ikt", "servicedesk"), ("handler",)),
    Agent("sigrid", "Sigrid Løvland", ("e-helse", "klinisk-app"), ("handler",)),
    Agent("havard", "Håvard Østby", ("nettverk", "server"), ("handler",)),
    Agent("lars", "Lars Öhman", ("e-helse",), ("receiver", "handler", "permission-admin")),
    Agent("mette", "Mette Kjærgaard", ("nettverk", "servicedesk"), ("handler", "auditor")),
    Agent("soren", "Søren Bæk", ("server",), ("handler", "admin")),
    Agent("anna", "Anna Lindqvist", ("servicedesk",), ("receiver", "handler")),
    Agent("erik", "Erik Söderström", ("arbeidsplass",), ("handler",)),
    Agent("karin", "Karin Björk", ("klinisk-app",), ("handler",)),
    Agent("rasmus", "Rasmus Østergaard", ("k-ikt",), ("handler",)),
    Agent("louise", "Louise Thygesen", ("servicedesk",), ("receiver", "handler")),
    Agent("jonas", "Jonas Ekström", ("arbeidsplass", "nettverk"), ("handler",)),
    Agent("eli", "Eli Skjærvø", ("e-helse",), ("handler",)),
]
ADMIN: Final = AGENTS[0].id
RECEIVERS: Final = [a for a in AGENTS if "receiver" in a.roles]
HOME_TEAM: Final = {a.id: a.teams[0] for a in AGENTS}
TEAM_MEMBERS: Final = {t.id: [a for a in AGENTS if t.id in a.teams] for t in TEAMS}


def setup_commands(directory: str) -> list[list[str]]:
    """The casectl arguments, in order, that make this desk in ``directory``:
    `init`, then every team and agent added by the desk lead. Each names the
    repository and the acting agent itself, so any runner can run them as they are."""
    commands = [["init", directory, "--desk", DESK_NAME, "--timezone", DESK_TZ_NAME]]
    lead = ["--repo", directory, "--as", ADMIN]
    for team in TEAMS:
        commands.append([*lead, "team", "add", team.id, "--name", team.name,
                         "--email", team.email])
    for agent in AGENTS:
        args = [*lead, "agent", "add", agent.id, "--name", agent.name, "--email", agent.email]
        args += [f"--team={t}" for t in agent.teams] + [f"--role={r}" for r in agent.roles]
        commands.append(args)
    return commands
