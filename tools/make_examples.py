#!/usr/bin/env python3
"""Rebuild the example cases in cases/ by driving the real casectl command line.

The examples are not written by hand: every case is produced by running
`casectl` in a throwaway case repository, step by step, with the clock fixed
through CASECTL_NOW. That way the files are exactly what the tool writes
(header == replay(log), real ids, real event ids), and the examples double as
an end-to-end smoke test of the command line.

    python tools/make_examples.py [--out DIR] [--keep]

The desk (teams, agents) is tools/deskdata's, shared with the benchmark: a
fictional Nordic shared service desk for healthcare IT that takes cases from
Norwegian municipalities and hospitals, Swedish 1177 e-tjänster and Danish
regions, so the texts are in all three languages. The scenes below are this
script's own, written by hand to show every type, priority, status and action.

Standard library and tools/deskdata only; Python 3.11.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from deskdata.cases import Draft, Reporter
from deskdata.desk import ADMIN, DESK_TZ, setup_commands

DEFAULT_OUT: Final = Path(__file__).resolve().parent.parent / "cases"


# --------------------------------------------------------------------------
# Running casectl
# --------------------------------------------------------------------------


class CasectlFailed(Exception):
    """A casectl command exited non-zero; carries everything needed to debug it."""

    def __init__(self, cmd: Sequence[str], now: str, proc: subprocess.CompletedProcess[str]):
        self.cmd = list(cmd)
        self.now = now
        self.proc = proc
        super().__init__(f"casectl exited {proc.returncode}")

    def report(self) -> str:
        return (
            f"casectl command failed with exit code {self.proc.returncode}:\n"
            f"  CASECTL_NOW={self.now} {shlex.join(self.cmd)}\n"
            f"--- stderr ---\n{self.proc.stderr.rstrip()}\n"
            f"--- stdout ---\n{self.proc.stdout.rstrip()}\n"
        )


class Casectl:
    """Runs `python -m casectl` against one repository with a fixed clock.

    The environment is scrubbed so the user's own git identity, git config
    and CASECTL_* settings cannot leak into the examples: the output must be
    the same on every machine.
    """

    def __init__(self, repo: Path, home: Path) -> None:
        self.repo = repo
        self.home = home

    def _env(self, now: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CASECTL_", "GIT_", "EMAIL"))
        }
        env.update(
            HOME=str(self.home),
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_NOSYSTEM="1",
            CASECTL_NOW=now,
            PYTHONUTF8="1",
            PYTHONIOENCODING="utf-8",
        )
        return env

    def run(
        self,
        args: Sequence[str],
        *,
        at: datetime,
        agent: str | None,
        stdin: str | None = None,
        with_repo: bool = True,
    ) -> str:
        """Run one command; return its stdout, raise CasectlFailed on failure."""
        cmd = [sys.executable, "-m", "casectl"]
        if with_repo:
            cmd += ["--repo", str(self.repo)]
        if agent is not None:
            cmd += ["--as", agent]
        cmd += list(args)
        now = at.isoformat(timespec="seconds")
        # stdin is always a pipe (empty unless we feed a description), so
        # casectl can never sit waiting on an interactive prompt.
        proc = subprocess.run(
            cmd,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=self._env(now),
            cwd=self.home,
            check=False,
        )
        if proc.returncode != 0:
            raise CasectlFailed(cmd, now, proc)
        return proc.stdout


# --------------------------------------------------------------------------
# Scripting cases
# --------------------------------------------------------------------------


class _CaseIdMarker:
    """Stands in for the case id in a step's arguments until `new` has printed it."""

    def __repr__(self) -> str:
        return "<ID>"


ID: Final = _CaseIdMarker()
Arg = str | _CaseIdMarker


def at(local: str) -> datetime:
    """A desk-local wall-clock time, 'YYYY-MM-DD HH:MM', as an aware datetime."""
    return datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=DESK_TZ)


def mins(n: int) -> timedelta:
    return timedelta(minutes=n)


@dataclass
class Step:
    when: datetime
    agent: str
    args: tuple[Arg, ...]
    stdin: str | None = None


@dataclass
class CaseScript:
    """One case: its `new` step, the steps after it, and the status it must end in."""

    key: str
    expect_status: str
    steps: list[Step] = field(default_factory=list)
    case_id: str | None = None

    def do(self, when: str | timedelta, agent: str, *args: Arg) -> CaseScript:
        """Append a step, at an absolute local time or some time after the last step.

        Steps of one case must move forward in time; a mistake in the plan is
        caught here rather than producing a case whose history runs backwards.
        """
        last = self.steps[-1].when
        moment = last + when if isinstance(when, timedelta) else at(when)
        if moment <= last:
            raise ValueError(f"{self.key}: step {args[:1]} at {moment} is not after {last}")
        self.steps.append(Step(moment, agent, tuple(args)))
        return self

    def argv(self, step: Step) -> list[str]:
        """The step's arguments with the real case id filled in."""
        argv: list[str] = []
        for arg in step.args:
            if isinstance(arg, _CaseIdMarker):
                if self.case_id is None:
                    raise RuntimeError(f"{self.key}: step {step.args} runs before the case exists")
                argv.append(self.case_id)
            else:
                argv.append(arg)
        return argv


def new_case(
    key: str,
    *,
    expect: str,
    when: str,
    by: str,
    subject: str,
    description: str,
    type: str,  # noqa: A002 - mirrors the casectl flag
    priority: str,
    team: str,
    category: str | None = None,
    reporter: str | None = None,
    phone: str | None = None,
    org: str | None = None,
    assignee: str | None = None,
    fields: dict[str, str] | None = None,
    notify: bool = False,
    start: bool = False,
) -> CaseScript:
    """Script a `casectl new`; the description goes in on stdin (`--description -`)
    because the realistic ones are multi-line."""
    draft = Draft(subject=subject, description=description.strip(), type=type,
                  priority=priority, team=team, category=category,
                  reporter=Reporter.parse(reporter, phone, org) if reporter else None,
                  assignee=assignee, fields=dict(fields or {}), notify=notify, start=start)
    case = CaseScript(key, expect)
    case.steps.append(Step(at(when), by, tuple(draft.new_args(description_on_stdin=True)),
                           stdin=draft.description + "\n"))
    return case


# --------------------------------------------------------------------------
# The desk
# --------------------------------------------------------------------------

SETUP_TIME: Final = "2026-01-05 08:00"


def setup_desk(cli: Casectl) -> None:
    """`casectl init` and the shared desk's teams and agents, a minute apart."""
    moment = at(SETUP_TIME)
    for args in setup_commands(str(cli.repo)):
        cli.run(args, at=moment, agent=None, with_repo=False)
        moment += mins(1)


# --------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------


def build_cases() -> list[CaseScript]:  # noqa: PLR0915 - a long but flat script of scenes
    cases: list[CaseScript] = []

    # 1. NO. Caller phones about DIPS/EPJ access; the agent registers the case
    #    on her behalf with the EPJ number and municipality fields (seed 000),
    #    then hands the access change to E-helse, which owns the DIPS access matrix.
    c = new_case(
        "dips-tilgang", expect="closed", when="2026-01-13 08:47", by="ingrid",
        subject="Får ikke åpnet EPJ i DIPS Arena etter overgang til legevakten",
        description="""
Innmelder ringte servicedesk kl. 08:40 (sak registrert på vegne av bruker).
Hun gikk 1. januar over fra hjemmesykepleien til Levanger legevakt og får
feilmeldingen «Du har ikke tilgang til denne enheten» når hun åpner journalen
til pasienten med EPJ-nummer 40211873 i DIPS Arena.
Pålogging til Windows og Citrix fungerer. Hun har logget av og på og startet
PC-en på nytt. Bare hun er rammet; kollegene på vakt får åpnet journalen.
Konsekvens: hun må be kolleger slå opp for seg på nattevakt.
""",
        type="request", category="tilgang", priority="medium", team="servicedesk",
        reporter="Hilde Rønningen <hilde.ronningen@levanger.kommune.example>",
        phone="+47 481 22 907", org="Levanger kommune, legevakten",
        fields={"epj": "40211873", "kommune": "Levanger"}, notify=True, start=True,
    )
    c.do(mins(11), "ingrid", "log", ID,
         "Kontrollert brukeren i AD: hun mangler tilgangsgruppen for Levanger legevakt i "
         "DIPS Arena. Gammel gruppe for hjemmesykepleien er fortsatt aktiv.")
    c.do(mins(5), "ingrid", "log", ID, "--internal",
         "Tilgangsendring krever godkjenning fra enhetsleder. Spurt Kari Øyen (enhetsleder "
         "legevakten) på Teams; hun svarer etter morgenmøtet.")
    c.do("2026-01-13 10:41", "ingrid", "assign", ID, "--to", "sigrid", "--note",
         "Godkjenning fra enhetsleder mottatt kl. 10:35. E-helse forvalter tilgangsmatrisen "
         "for DIPS: Sigrid legger til ny gruppe og fjerner den gamle.")
    c.do(mins(34), "sigrid", "log", ID, "--email",
         "Hei Hilde! Du er nå lagt inn i tilgangsgruppen for Levanger legevakt i DIPS Arena. "
         "Logg helt ut av Citrix og inn igjen, så skal journalen åpne seg. Gi oss beskjed om "
         "det fortsatt ikke virker. Hilsen Sigrid Løvland, E-helse")
    c.do("2026-01-13 13:20", "sigrid", "close", ID, "--confirmed", "--solution",
         "Brukeren manglet AD-gruppen for Levanger legevakt i DIPS Arena etter overgang fra "
         "hjemmesykepleien. Ny gruppe lagt til etter godkjenning fra enhetsleder, gammel gruppe "
         "fjernet. Innmelder bekreftet på telefon kl. 13:15 at journalen (EPJ 40211873) åpnes. "
         "Tips til lignende saker: ved bytte av enhet må ny tilgang bestilles før første vakt.")
    cases.append(c)

    # 2. NO. Hastesak (seed 003): a criticality-1 lab system is down. Subject
    #    names the application; the description lists application, department,
    #    users, PCs, servers, competence and a contact with mobile. Critical
    #    cases are always hand-carried, here to the server group.
    c = new_case(
        "hastesak-unilab", expect="closed", when="2026-02-10 07:12", by="ingrid",
        subject="Unilab – OK skal hjelpe: laboratoriesystemet er nede på Medisinsk biokjemi",
        description="""
Saken skal distribueres av OK.

Feilbeskrivelse: Fra kl. 06:55 får ingen logget på Unilab. Klienten henger på
«Kobler til database …» og gir tidsavbrudd etter 60 sekunder. Analyse-
instrumentene leverer svar, men de blir liggende i kø; prøvesvar til DIPS
stopper opp, og akuttmottaket får ikke blodprøvesvar.

Applikasjon: Unilab (kritikalitet 1)
Avdeling: Avdeling for medisinsk biokjemi, Sørlandet sykehus Kristiansand –
døgnlaboratoriet og blodbanken
Brukere: alle i døgnlaboratoriet, ca. 35 bioingeniører, bl.a. Tone Bjørnevik,
Åse Kvåle og Per Ødegård
PC-er: LAB-KRS-0112, LAB-KRS-0115, LAB-KRS-0131 (alle arbeidsstasjoner i
døgnlaboratoriet er rammet)
Servere: unilab-app01 og unilab-db01
Kompetanse som trengs: servergruppen; kliniske fellesapplikasjoner for kontroll
av integrasjonen mot DIPS etterpå
Kontaktperson: Tone Bjørnevik, fagansvarlig bioingeniør, mobil 913 45 678
""",
        type="incident", category="laboratoriesystem", priority="critical", team="servicedesk",
        reporter="Tone Bjørnevik <tone.bjornevik@sshf.example>", phone="+47 913 45 678",
        org="Sørlandet sykehus HF, Medisinsk biokjemi",
        fields={"applikasjon": "Unilab", "avdeling": "Medisinsk biokjemi, Kristiansand",
                "server": "unilab-app01, unilab-db01"},
        start=True,
    )
    c.do(mins(4), "ingrid", "log", ID,
         "Innmelder ringte Brukerstøtte kl. 07:14 og oppga saksnummeret. Saken gjelder fagsystem "
         "med kritikalitet 1 og distribueres via operativ koordinator.")
    c.do(mins(3), "ingrid", "handover", ID, "--to", "server", "--note",
         "Håndbåret på telefon til Søren Bæk i Servergruppen kl. 07:18: unilab-db01 svarer ikke "
         "på tilkobling fra applikasjonsserveren. Søren tar saken.")
    # A team handover leaves the case in the team's queue; the receiver takes it.
    c.do(mins(2), "soren", "take", ID, "--note",
         "Modtaget ved håndbæring fra Servicedesk; går i gang med databaseserveren.")
    c.do(mins(10), "soren", "log", ID, "--internal",
         "unilab-db01: disken til transaktionsloggen (L:) er 100 % fuld, efter at nattens "
         "logbackup fejlede. Udvider disken med 50 GB og tager manuel logbackup.")
    c.do(mins(21), "soren", "log", ID,
         "Databasen er tilgængelig igen kl. 07:49. Unilab-klienterne kan logge på, og køen med "
         "prøvesvar til DIPS bliver tømt.")
    c.do(mins(18), "soren", "log", ID, "--email",
         "Hej Tone. Unilab kører igen fra kl. 07:49, og køen med prøvesvar til DIPS blev tømt "
         "kl. 08:04. Sig endelig til, hvis I ser afvigelser. Mvh. Søren Bæk, Servergruppen")
    c.do("2026-02-10 09:30", "soren", "close", ID, "--confirmed", "--solution",
         "Årsak: transaksjonsloggdisken på unilab-db01 ble full etter at loggbackupen feilet "
         "natt til 10.02. Tiltak: disken utvidet med 50 GB, manuell loggbackup kjørt, "
         "backupjobben reparert og overvåkingsvarsel satt ved 85 % fylling. Tone Bjørnevik "
         "bekreftet kl. 09:25 at Unilab og svaroverføringen til DIPS fungerer. Nedetid 54 min. "
         "CMDB oppdatert med ny diskstørrelse.")
    cases.append(c)

    # 3. NO. Network fault with the network team's triage fields (seed 004:
    #    location, building, floor, socket number). Priority raised once the
    #    scope is known; ends "solved", awaiting the reporter's confirmation.
    c = new_case(
        "nettverk-4b", expect="solved", when="2026-03-03 08:05", by="ingrid",
        subject="Ingen kablet nettverk på sengepost 4B – Bygg 2, 4. etasje",
        description="""
Sengepost 4B melder at tre PC-er på vaktrommet og medisinrommet ikke har fått
nettverk siden ca. kl. 07:30. Trådløst nett virker, kablet nett gjør det ikke;
PC-ene viser «Ingen Internett-tilgang». Prøvd: byttet nettverkskabel og
startet PC-ene på nytt.
Utstyr: stasjonære PC-er, ingen feil på maskinvaren kjent.
Berørte: Marte Hågensen, Jonas Bråten og Eirik Sæle (hele posten bruker PC-ene).
Konsekvens: PC-en på medisinrommet brukes til kurve og legemiddelhåndtering i
DIPS; personalet må gå til nabopost.
Oppstått: i morges, etter at en skriver ble flyttet i går ettermiddag.
""",
        type="incident", category="nettverk", priority="medium", team="nettverk",
        reporter="Marte Hågensen <marte.hagensen@stolav.example>", phone="+47 926 11 304",
        org="St. Olavs hospital, Medisinsk klinikk",
        assignee="havard",
        fields={"sykehus": "St. Olavs hospital", "bygning": "Bygg 2", "etasje": "4",
                "rom": "Medisinrom 4.112", "stikknummer": "60-143B"},
        notify=True,
    )
    c.do(mins(9), "havard", "priority", ID, "high", "--reason",
         "Hele sengeposten mangler kablet nett på medisinrommet, og legemiddelhåndteringen i "
         "DIPS er tidskritisk for pasientbehandlingen.")
    c.do(mins(2), "havard", "start", ID)
    c.do(mins(36), "havard", "log", ID,
         "Målt stikk 60-143B og 60-144A: ingen link. Portene Gi1/0/23–24 på etasjesvitsjen i "
         "krysskoblingsrom 4.112 står som err-disabled etter at skriveren ble flyttet.")
    c.do(mins(18), "havard", "log", ID, "--internal",
         "Port security tillot bare én MAC-adresse per port; skriver og PC bak samme veggstikk "
         "utløste brudd. Økt grensen til 2 på portene i 4B og ført endringen i nettverksloggen.")
    c.do(mins(8), "havard", "log", ID, "--email",
         "Hei Marte. Nettverket på vaktrommet og medisinrommet skal nå virke igjen. Kan du "
         "bekrefte at alle tre PC-ene får kontakt? Hilsen Håvard Østby, Nettverk")
    c.do(mins(7), "havard", "close", ID, "--solution",
         "Svitsjportene for stikk 60-143B og 60-144A var sperret av port security etter flytting "
         "av skriver. Portene er åpnet og tillatt antall MAC-adresser økt til 2. Testet med ping "
         "og pålogging til DIPS fra alle tre PC-ene. Venter på bekreftelse fra innmelder.")
    cases.append(c)

    # 4. DK. Backup/restore request with the restore team's questions answered
    #    up front (seed 004): path, version, may an existing copy be overwritten.
    c = new_case(
        "gendannelse-vagtplaner", expect="closed", when="2026-03-17 09:12", by="ingrid",
        subject="Gendannelse af slettet mappe med vagtplaner på fællesdrevet",
        description="""
Mappen «Vagtplaner 2026» på afdelingens fællesdrev blev slettet ved en fejl i
går eftermiddag (16.03 ca. kl. 16:30).
Sti: \\\\regionh.example\\dfs\\HGH\\Kardiologi\\Vagtplaner 2026
Version: den seneste fra før sletningen, altså nattens backup 16.03 eller
snapshot fra samme eftermiddag.
Overskrivning: der ligger ingen mappe på stedet nu, så intet skal bevares.
Det haster lidt, da aprilplanen skal sendes ud fredag.
""",
        type="request", category="backup og gendannelse", priority="medium", team="servicedesk",
        reporter="Birgitte Østergaard <birgitte.ostergaard@regionh.example>",
        phone="+45 38 68 21 40", org="Herlev og Gentofte Hospital, Kardiologisk afdeling",
        fields={"sti": "\\\\regionh.example\\dfs\\HGH\\Kardiologi\\Vagtplaner 2026",
                "version": "Seneste før 16.03 kl. 16:30", "overskriv": "nej"},
        notify=True,
    )
    c.do(mins(14), "ingrid", "assign", ID, "--to", "soren", "--note",
         "Restore-oppgave til Servergruppen: sti, versjon og overskriving er avklart med "
         "innmelder, se beskrivelsen.")
    c.do(mins(14), "soren", "start", ID)
    c.do(mins(25), "soren", "log", ID, "--internal",
         "Fundet mappen i nattens backup 16.03 kl. 22:00 (Commvault job 88213); snapshottet fra "
         "eftermiddagen er allerede udløbet. Gendanner til oprindelig sti, intet overskrives.")
    c.do(mins(26), "soren", "log", ID,
         "Mappen «Vagtplaner 2026» er gendannet til oprindelig placering med 14 filer fra "
         "backuppen 16.03 kl. 22:00.")
    c.do(mins(2), "soren", "log", ID, "--email",
         "Hej Birgitte. Mappen er gendannet fra nattens backup. Vil du tjekke, at aprilplanen "
         "ligger der i den forventede version? Mvh. Søren Bæk, Servergruppen")
    c.do("2026-03-18 08:55", "soren", "close", ID, "--confirmed", "--solution",
         "Mappen gendannet fra natlig backup 16.03 kl. 22:00 til den oprindelige sti på "
         "fællesdrevet. Opgavestiller har bekræftet pr. telefon, at alle 14 filer er der og "
         "aprilplanen er komplet. Anbefalet afdelingen at bruge «Tidligere versioner» på "
         "fællesdrevet til enkeltfiler fremover.")
    cases.append(c)

    # 5. NO. Password reset solved on the phone: registered, worked and closed
    #    within minutes, because the history of who was reset matters.
    c = new_case(
        "passord-gerica", expect="closed", when="2026-04-08 07:42", by="bjorn",
        subject="Glemt passord – låst ute av Windows og Gerica",
        description="""
Innmelder ringer fra Blindheim omsorgssenter. Hun har hatt tre uker ferie og
husker ikke passordet; kontoen ble låst etter fem forsøk. Får ikke logget på
Windows og dermed heller ikke Gerica. Morgenvakten starter kl. 08:00.
""",
        type="request", category="passord", priority="medium", team="servicedesk",
        reporter="Randi Ødegård <randi.odegard@alesund.kommune.example>",
        phone="+47 977 04 512", org="Ålesund kommune, Blindheim omsorgssenter",
        fields={"kommune": "Ålesund"}, start=True,
    )
    c.do(mins(7), "bjorn", "log", ID,
         "Identitet bekreftet med tilbakeringing til registrert mobilnummer. Kontoen låst opp i "
         "AD og engangspassord sendt på SMS.")
    c.do(mins(4), "bjorn", "close", ID, "--confirmed", "--solution",
         "Konto låst opp og passord tilbakestilt over telefon etter verifisering av identitet "
         "(tilbakeringing til registrert mobil). Brukeren byttet passord ved første pålogging "
         "og kom inn i både Windows og Gerica mens vi var i telefonen.")
    cases.append(c)

    # 6. NO. Order for new equipment and access for a new employee, worked by
    #    Kommune-IKT over two weeks.
    c = new_case(
        "bestilling-nyansatt", expect="closed", when="2026-04-20 10:14", by="ingrid",
        subject="Bestilling: PC, mobil og adgangskort til ny sykepleier i hjemmetjenesten",
        description="""
Ny sykepleier Thea Ågedal begynner i hjemmetjenesten sone Øst mandag 4. mai.
Hun trenger:
- bærbar PC med dokkingstasjon
- tjenestemobil med MDM-oppsett og Gerica mobil
- adgangskort til Åsveien helsehus (hovedinngang og medisinrommet)
Koststed 4512. Godkjent av enhetsleder Anne Kristin Lie.
""",
        type="order", category="utstyr og tilganger", priority="medium", team="k-ikt",
        reporter="Anne Kristin Lie <anne.kristin.lie@steinkjer.kommune.example>",
        phone="+47 741 69 220", org="Steinkjer kommune, hjemmetjenesten",
        assignee="bjorn", fields={"kommune": "Steinkjer", "koststed": "4512"}, notify=True,
    )
    c.do("2026-04-21 08:35", "bjorn", "start", ID)
    c.do(mins(15), "bjorn", "log", ID, "--internal",
         "Lenovo T14 og iPhone 15 reservert fra lager. Adgangskort må bestilles fra "
         "vaktmestertjenesten – skjema sendt.")
    c.do("2026-04-29 13:10", "bjorn", "log", ID,
         "PC og mobil er klargjort og innrullert i Intune. Adgangskortet er kodet for Åsveien "
         "helsehus, hovedinngang og medisinrommet.")
    c.do("2026-04-30 09:05", "bjorn", "log", ID, "--email",
         "Hei Anne Kristin. Utstyret til Thea Ågedal ligger klart i IT-skranken på rådhuset, "
         "1. etasje. Hun må ha med legitimasjon ved utlevering. Hilsen Bjørn Åsheim, K-IKT")
    c.do("2026-05-04 08:40", "bjorn", "close", ID, "--confirmed", "--solution",
         "Utlevert Lenovo T14 med dokk, iPhone 15 (MDM, Gerica mobil) og adgangskort til Thea "
         "Ågedal 4. mai kl. 08:35; kvittering signert. CMDB oppdatert med serienumre og ny eier.")
    cases.append(c)

    # 7. NO. A change request arriving as a case goes to the owning team's
    #    improvement backlog, and the reporter is told (seed 001).
    c = new_case(
        "endringsonske-kategori", expect="closed", when="2026-05-12 09:30", by="ingrid",
        subject="Endringsønske: egen kategori for velferdsteknologi i selvbetjeningsportalen",
        description="""
Responssenteret ønsker en egen kategori «Velferdsteknologi / trygghetsalarm» i
selvbetjeningsportalen. I dag havner slike saker under «Annet» og må
omkategoriseres manuelt – rundt 40 saker i måneden. Forslag: egen kategori med
obligatoriske felt for alarmnummer og kommune, så sakene kan rutes direkte.
""",
        type="change", category="selvbetjeningsportal", priority="low", team="servicedesk",
        reporter="Hege Marit Sandvik <hege.sandvik@responssenteret.example>",
        phone="+47 950 37 221", org="Responssenteret",
    )
    c.do(mins(15), "ingrid", "log", ID, "--internal",
         "Dette er et endringsbehov, ikke en feil. Servicedesk eier portalen: tas inn i teamets "
         "forbedringsbacklog og prioriteres på det månedlige forbedringsmøtet.")
    c.do("2026-05-13 14:00", "ingrid", "log", ID, "--email",
         "Hei Hege Marit. Takk for et godt forslag! Ønsket om egen kategori for velferdsteknologi "
         "er lagt inn i forbedringsbackloggen til Servicedesk som FB-0142 og vurderes på "
         "forbedringsmøtet 27. mai. Du får beskjed når det er besluttet. Hilsen Ingrid Sæther")
    c.do(mins(5), "ingrid", "close", ID, "--confirmed", "--solution",
         "Endringsønsket er overført til forbedringsbackloggen til eierteamet Servicedesk som "
         "FB-0142 (egen kategori «Velferdsteknologi / trygghetsalarm» med felt for alarmnummer "
         "og kommune). Innmelder er orientert på e-post; videre oppfølging skjer i backloggen.")
    cases.append(c)

    # 8. DK. Slow clinical system: the network team proves the network is fine
    #    and hand-carries the case (håndbæring) to the server group, naming the
    #    receiver. Priority lowered once service is restored.
    c = new_case(
        "citrix-haandbaering", expect="closed", when="2026-06-09 08:41", by="mette",
        subject="Sundhedsplatformen fryser via Citrix på afsnit 431, Hvidovre Hospital",
        description="""
Siden kl. 8 oplever personalet på afsnit 431 (Gastroenheden), at
Sundhedsplatformen fryser i 10–30 sekunder ad gangen. Det gælder alle 12
stationære pc'er i afsnittet, og bærbare på trådløst net har samme problem.
Outlook og intranettet virker normalt.
Berørte bl.a.: Lone Dyhr, Jens Ærenlund og Mikkel Holm.
Konsekvens: medicinordination og dokumentation bliver forsinket.
""",
        type="incident", category="citrix", priority="high", team="nettverk",
        reporter="Lone Dyhr <lone.dyhr@regionh.example>", phone="+45 38 62 11 09",
        org="Hvidovre Hospital, Gastroenheden",
        fields={"hospital": "Hvidovre Hospital", "afsnit": "431", "bygning": "Bygning 4",
                "etage": "3"},
        start=True,
    )
    c.do(mins(17), "mette", "log", ID,
         "Netværket er målt: intet pakketab og svartider under 2 ms fra afsnittets switch til "
         "datacentret. Nabo-afsnittene har ikke problemet. Alle berørte sessioner ligger på "
         "Citrix-serveren ctx-sp-07.")
    c.do(mins(6), "mette", "log", ID, "--internal",
         "Aftalt med teamkoordinator, at sagen håndbæres til Servergruppen – det er ikke et "
         "netværksproblem.")
    c.do(mins(6), "mette", "handover", ID, "--to", "server", "--note",
         "Håndbåret telefonisk til Søren Bæk (Servergruppen) kl. 09:08. Netværket er målt "
         "fejlfrit; alle berørte brugere ligger på ctx-sp-07, som kører med 100 % CPU. Søren "
         "overtager sagen.")
    c.do(mins(3), "soren", "take", ID, "--note",
         "Modtaget ved håndbæring fra Mette Kjærgaard, Netværk.")
    c.do(mins(12), "soren", "log", ID, "--internal",
         "ctx-sp-07: en hængt udskriftsproces (spoolsv) bruger al CPU. Tømmer udskriftskøen og "
         "genstarter print spooler; brugerne behøver ikke logge af.")
    c.do(mins(8), "soren", "log", ID,
         "Citrix-serveren ctx-sp-07 er i normal drift igen, og svartiderne i "
         "Sundhedsplatformen er tilbage på normalt niveau.")
    c.do(mins(2), "soren", "priority", ID, "medium", "--reason",
         "Driften er genoprettet; det resterende arbejde er opfølgning på årsagen til den "
         "hængte udskriftsproces.")
    c.do(mins(5), "soren", "log", ID, "--email",
         "Hej Lone. Sundhedsplatformen bør nu køre normalt igen på afsnit 431. Årsagen var en "
         "hængt udskriftsproces på en Citrix-server. Giv besked, hvis der stadig er frysninger. "
         "Mvh. Søren Bæk, Servergruppen")
    c.do("2026-06-10 10:15", "soren", "close", ID, "--confirmed", "--solution",
         "Årsag: en hængt udskriftsproces (print spooler) på Citrix-server ctx-sp-07 brugte "
         "100 % CPU. Løsning: udskriftskøen tømt, print spooler genstartet og driveren til "
         "Zebra-etiketprinteren på afsnit 431 udskiftet med den godkendte version. "
         "Opgavestiller har bekræftet normal drift; gentagelse overvåges i Capmon i 14 dage.")
    cases.append(c)

    # 9. DK. Rejected (afvist), decided with the team coordinator and with the
    #    reason recorded (seed 004, leveregel 5).
    c = new_case(
        "afvist-postkasse", expect="rejected", when="2026-08-18 09:05", by="mette",
        subject="Anmodning om adgang til kollegas postkasse under ferie",
        description="""
Jeg skal holde øje med min kollega Anders Bøgelunds mails, mens han er på
ferie i tre uger. Kan I give mig fuld adgang til hans postkasse? Han har sagt
ja mundtligt, inden han gik.
""",
        type="request", category="e-mail", priority="low", team="servicedesk",
        reporter="Pernille Sørensen <pernille.sorensen@rm.example>", phone="+45 78 42 10 55",
        org="Regionshospitalet Randers, Økonomi og Planlægning", notify=True,
    )
    c.do(mins(15), "mette", "log", ID, "--internal",
         "Drøftet med teamkoordinator: adgang til en andens postkasse kræver skriftlig "
         "godkendelse fra nærmeste leder og fra ejeren af postkassen, jf. "
         "informationssikkerhedspolitikken. Mundtligt samtykke er ikke nok.")
    c.do(mins(4), "mette", "log", ID, "--email",
         "Hej Pernille. Vi kan desværre ikke give adgang til Anders' postkasse på baggrund af et "
         "mundtligt samtykke. Send en ny anmodning med skriftlig godkendelse fra jeres leder og "
         "fra Anders, så hjælper vi gerne. Anders kan også selv opsætte autosvar og "
         "videresendelse. Mvh. Mette Kjærgaard")
    c.do(mins(2), "mette", "reject", ID, "--reason",
         "Afvist i samråd med teamkoordinator: adgang til en kollegas postkasse kræver skriftlig "
         "godkendelse fra både nærmeste leder og postkassens ejer (informationssikkerheds"
         "politikken, afsnit 7.3). Opgavestiller er orienteret og kan oprette en ny sag med "
         "godkendelsen vedhæftet.")
    cases.append(c)

    # 10. NO. Closed, then reopened when the fault came back, then closed for
    #     good. The first close leaves it "solved"; `close --confirmed` on a
    #     solved case keeps the existing solution.
    c = new_case(
        "gjenapnet-utskrift", expect="closed", when="2026-09-08 10:02", by="ingrid",
        subject="Legemiddellisten fra DIPS Arena skrives ut blank på post 3",
        description="""
Når sykepleierne skriver ut legemiddellisten fra DIPS Arena på post 3, kommer
det bare en blank side ut på skriveren SKR-AAL-3012. Andre dokumenter skrives
ut normalt. Gjelder alle brukere på posten siden mandag morgen.
""",
        type="incident", category="utskrift", priority="medium", team="klinisk-app",
        reporter="Kristin Åsen <kristin.asen@helse-mr.example>", phone="+47 700 16 540",
        org="Helse Møre og Romsdal, Ålesund sjukehus", assignee="sigrid",
        fields={"applikasjon": "DIPS Arena", "skriver": "SKR-AAL-3012"}, notify=True,
    )
    c.do(mins(38), "sigrid", "start", ID)
    c.do(mins(35), "sigrid", "log", ID,
         "Legemiddellisten bruker utskriftsmalen «LM-liste A4 liggende». Driveren for "
         "SKR-AAL-3012 på utskriftsserveren ble oppdatert i helgen og håndterer ikke liggende "
         "format fra DIPS. Driveren er rullet tilbake.")
    c.do(mins(15), "sigrid", "close", ID, "--solution",
         "Skriverdriveren for SKR-AAL-3012 rullet tilbake til forrige versjon. Testutskrift av "
         "legemiddelliste fra DIPS Arena OK.")
    c.do("2026-09-09 09:10", "sigrid", "close", ID, "--confirmed")
    c.do("2026-09-21 08:50", "ingrid", "reopen", ID, "--reason",
         "Innmelder ringte: feilen er tilbake etter helgens driverutrulling, legemiddellisten "
         "skrives ut blank igjen.")
    c.do(mins(40), "sigrid", "log", ID, "--internal",
         "Driveren ble rullet ut på nytt av den automatiske utrullingen (SCCM) fordi "
         "tilbakerullingen ikke var lagt inn som unntak. Legger skrivermodellen i "
         "unntaksgruppen og melder feilen til leverandøren.")
    c.do(mins(35), "sigrid", "log", ID,
         "Driveren er satt tilbake og låst mot automatisk oppdatering. Feilen er meldt til "
         "skriverleverandøren.")
    c.do("2026-09-22 09:00", "sigrid", "close", ID, "--confirmed", "--solution",
         "Driveren ble overskrevet av automatisk utrulling etter første retting. Driveren for "
         "SKR-AAL-3012 og fire skrivere av samme modell er lagt i unntaksgruppe i SCCM til "
         "leverandøren har rettet feilen med liggende utskrift fra DIPS Arena (leverandørsak "
         "HP-55102). Innmelder har bekreftet at legemiddellisten skrives ut riktig.")
    cases.append(c)

    # 11. SE. Order for 1177 e-tjänster permissions (ärendehanterare), handled by
    #     the permission administrator; contact details missing in KiV (seed 002).
    c = new_case(
        "behorighet-1177", expect="closed", when="2026-09-15 13:10", by="lars",
        subject="Behörighet som ärendehanterare i 1177 e-tjänster för ny undersköterska",
        description="""
Vi har en ny undersköterska, Elin Järvholm, som börjar på måndag. Hon behöver
behörighet som ärendehanterare (ÄH) i 1177 e-tjänster för vår mottagning och
ska ingå i gruppen «Receptförnyelse».
HSA-id: SE2321000131-P000000123456
Godkänt av verksamhetschef Åsa Lindström.
""",
        type="order", category="behörighet", priority="low", team="e-helse",
        reporter="Åsa Lindström <asa.lindstrom@vgregion.example>", phone="+46 31 345 67 00",
        org="Närhälsan Öckerö vårdcentral",
        fields={"tjanst": "1177 e-tjänster", "mottagning": "Närhälsan Öckerö vårdcentral",
                "hsa-id": "SE2321000131-P000000123456"},
        notify=True, start=True,
    )
    c.do(mins(15), "lars", "log", ID, "--internal",
         "Kontrollerat i HSA-katalogen: e-postadress och mobilnummer saknas för Elin Järvholm. "
         "Kontaktat KiV-ansvarig på Närhälsan, annars får hon inga aviseringar om nya ärenden.")
    c.do("2026-09-17 09:40", "lars", "log", ID,
         "Behörighet som ärendehanterare är tilldelad och Elin är tillagd i gruppen "
         "«Receptförnyelse». Kontaktuppgifterna är nu uppdaterade i KiV.")
    c.do(mins(5), "lars", "log", ID, "--email",
         "Hej Åsa! Elin Järvholm har nu behörighet som ärendehanterare i 1177 e-tjänster och "
         "ingår i gruppen «Receptförnyelse». Be henne göra sina personliga inställningar "
         "(avisering och signatur) vid första inloggningen. Vänliga hälsningar, Lars Öhman")
    c.do("2026-09-21 10:00", "lars", "close", ID, "--confirmed", "--solution",
         "Behörighet ÄH i 1177 e-tjänster tilldelad Elin Järvholm för Närhälsan Öckerö "
         "vårdcentral och tillagd i gruppen «Receptförnyelse». Saknade kontaktuppgifter i KiV "
         "kompletterade av KiV-ansvarig. Verksamhetschefen bekräftade att Elin har loggat in "
         "och ser gruppens ärenden.")
    cases.append(c)

    # 12. NO. A Windows server change with the server team's triage answers
    #     (IP address, when it may restart, technical contact), done in the
    #     evening maintenance window.
    c = new_case(
        "endring-omstart-server", expect="closed", when="2026-10-06 09:30", by="ingrid",
        subject="Planlagt omstart av integrasjonsserveren dips-int02 for sikkerhetsoppdateringer",
        description="""
Oktoberoppdateringene fra Microsoft skal installeres på integrasjonsserveren
dips-int02, og serveren må startes på nytt.
IP-adresse: 10.41.12.37
Omstart: torsdag 8. oktober kl. 22:00–22:30, da meldingstrafikken er lavest.
Teknisk kontakt: Håvard Østby, mobil 412 55 980.
Konsekvens: meldingsutvekslingen (henvisninger og epikriser) stopper under
omstarten og køes hos avsender.
""",
        type="change", category="server", priority="medium", team="server",
        reporter="Øyvind Rasmussen <oyvind.rasmussen@sykehuspartner.example>",
        phone="+47 902 33 118", org="Sykehuspartner, driftskoordinering", assignee="havard",
        fields={"server": "dips-int02", "ip": "10.41.12.37",
                "omstart": "2026-10-08 22:00–22:30", "teknisk-kontakt": "Håvard Østby, 412 55 980"},
    )
    c.do(mins(25), "havard", "log", ID, "--internal",
         "Endringen er godkjent i endringsrådet (CAB) 06.10. Kliniske applikasjoner er varslet om "
         "at meldingsutvekslingen stopper i ca. 15 minutter.")
    c.do("2026-10-08 21:58", "havard", "start", ID)
    c.do(mins(19), "havard", "log", ID,
         "Oppdateringene er installert og serveren startet på nytt kl. 22:09. Tjenestene for "
         "meldingsutveksling er oppe, og køen på 37 meldinger er sendt.")
    c.do(mins(8), "havard", "close", ID, "--confirmed", "--solution",
         "Oktoberoppdateringene installert på dips-int02 (10.41.12.37); omstart kl. 22:09 med 11 "
         "minutters nedetid. Kontrollert at henvisninger og epikriser sendes og mottas, og at "
         "køen ble tømt. CMDB oppdatert med patchnivå.")
    cases.append(c)

    # 13. SE. 1177 e-tjänster: the agent cannot answer fully yet, so sends a
    #     counter-question (motfråga) and waits for the citizen (seed 002).
    c = new_case(
        "1177-motfraga", expect="waiting", when="2026-11-03 10:20", by="lars",
        subject="1177 e-tjänster: knappen Skicka är grå i ärendet Förnya recept",
        description="""
Invånaren skriver via kontaktformuläret: «Jag försöker skicka ett ärende till
Närhälsan Örgryte vårdcentral om att förnya ett recept, men knappen Skicka är
grå när jag har fyllt i allt. Jag har loggat in med BankID.»
Mottagningens ärendemottagare har kontrollerat att ärendetypen «Förnya recept»
är aktiverad och att andra invånare kan skicka samma ärendetyp.
""",
        type="incident", category="1177 e-tjänster", priority="medium", team="e-helse",
        reporter="Göran Lindqvist <goran.lindqvist@epost.example>", phone="+46 70 412 88 31",
        fields={"tjanst": "1177 e-tjänster", "mottagning": "Närhälsan Örgryte vårdcentral"},
        notify=True, start=True,
    )
    c.do(mins(21), "lars", "log", ID, "--internal",
         "Kan inte återskapa felet i testmiljön med Chrome, Edge eller Safari. Misstänker att "
         "ett obligatoriskt fält (läkemedlets namn) inte registreras i en äldre webbläsare.")
    c.do(mins(7), "lars", "log", ID, "--email",
         "Hej Göran! Tack för ditt meddelande. För att kunna hjälpa dig behöver vi veta: "
         "1) vilken webbläsare och version du använder, 2) om du använder dator, surfplatta "
         "eller mobil, och 3) om något fält visas med röd text. Du kan svara direkt i det här "
         "ärendet. Vänliga hälsningar, Lars Öhman, E-hälsa")
    c.do(mins(2), "lars", "wait", ID, "--reason",
         "Motfråga skickad till invånaren om webbläsare och enhet; väntar på svar.")
    cases.append(c)

    # 14. DK. A high-priority change to medical devices: planned and approved,
    #     still in progress (started) when the examples end.
    c = new_case(
        "vlan-medicoteknik", expect="started", when="2026-11-10 10:00", by="mette",
        subject="Ændring: patientmonitorer på ITA 1 flyttes til separat VLAN",
        description="""
Klinisk Teknik ønsker de 24 patientmonitorer (Philips IntelliVue) på Intensiv
Terapiafsnit ITA 1, Odense Universitetshospital, flyttet til et separat VLAN,
adskilt fra administrative pc'er, jf. den nye sikkerhedspolitik for
medicoteknisk udstyr. Ændringen skal ske i et aftalt servicevindue, og
monitorerne må højst være offline 5 minutter ad gangen.
Teknisk kontakt: Jesper Højbjerg, Klinisk Teknik, mobil 21 44 87 09.
""",
        type="change", category="medicoteknik", priority="medium", team="nettverk",
        reporter="Jesper Højbjerg <jesper.hojbjerg@rsyd.example>", phone="+45 21 44 87 09",
        org="Odense Universitetshospital, Klinisk Teknik",
        fields={"hospital": "Odense Universitetshospital", "afsnit": "ITA 1",
                "udstyr": "24 × Philips IntelliVue"},
        notify=True,
    )
    c.do(mins(30), "mette", "priority", ID, "high", "--reason",
         "Udstyret er livsvigtig overvågning; en fejl i ændringen rammer patientsikkerheden "
         "direkte. Kræver plan for tilbagerulning og håndbæring ved overdragelse.")
    c.do("2026-11-11 09:00", "mette", "start", ID)
    c.do(mins(40), "mette", "log", ID,
         "Plan aftalt med Klinisk Teknik: monitorerne flyttes to ad gangen natten til 24.11 "
         "kl. 01–04, med tilbagerulning til nuværende VLAN, hvis en monitor ikke har forbindelse "
         "til centralstationen inden for 2 minutter.")
    c.do("2026-11-12 14:30", "mette", "log", ID, "--internal",
         "Ændringen er godkendt af CAB 12.11 som CHG-2026-0418. Vagthavende på ITA 1 er "
         "orienteret via afdelingssygeplejerske Ulla Bækgaard.")
    cases.append(c)

    # 15. NO. An evening-shift case not finished in the shift: the next
    #     shift's agent takes it over (seed 000), so it stays "started".
    c = new_case(
        "skiftovertakelse-alarmer", expect="started", when="2026-11-16 21:40", by="ingrid",
        subject="Trygghetsalarmer i Orkland kommune får ikke kontakt med Responssenteret",
        description="""
Vakthavende ved Responssenteret melder at 9 trygghetsalarmer i Orkland kommune
har gitt «manglende livstegn» siden kl. 20:15. Testalarm fra to av brukerne
kommer ikke inn. Alarmene går over 4G; andre kommuner er ikke rammet.
Hjemmetjenesten er varslet og gjør tilsyn hos de mest sårbare brukerne.
""",
        type="incident", category="velferdsteknologi", priority="medium", team="k-ikt",
        reporter="Hege Marit Sandvik <hege.sandvik@responssenteret.example>",
        phone="+47 950 37 221", org="Responssenteret",
        fields={"kommune": "Orkland", "antall-alarmer": "9"}, notify=True, start=True,
    )
    c.do(mins(8), "ingrid", "priority", ID, "high", "--reason",
         "Ni brukere står uten fungerende trygghetsalarm gjennom natten; dette gjelder "
         "pasientsikkerheten.")
    c.do(mins(7), "ingrid", "log", ID,
         "Kontaktet alarmleverandørens døgnvakt. De ser at alarmene ikke registrerer seg i "
         "mobilnettet i Orkanger-området og undersøker med teleoperatøren.")
    c.do(mins(45), "ingrid", "log", ID, "--internal",
         "Ikke løst før skiftslutt. Til morgenskiftet: sjekk status hos leverandøren kl. 07 og be "
         "hjemmetjenesten bekrefte at nattilsynet er gjennomført hos alle ni.")
    c.do("2026-11-17 07:05", "bjorn", "take", ID, "--note",
         "Overtatt fra kveldsvakten ved skiftbytte; Ingrids overleveringsnotat er lest.")
    c.do(mins(15), "bjorn", "log", ID,
         "Leverandøren bekrefter feil på en basestasjon hos teleoperatøren i Orkanger sentrum; "
         "retting pågår og ventes ferdig innen kl. 12. Hjemmetjenesten bekrefter at nattilsyn er "
         "gjennomført hos alle ni.")
    c.do(mins(5), "bjorn", "log", ID, "--email",
         "Hei Hege Marit. Feilen skyldes en basestasjon hos teleoperatøren i Orkanger og ventes "
         "rettet innen kl. 12 i dag. Vi tester alarmene når den er oppe igjen og gir beskjed. "
         "Hilsen Bjørn Åsheim, K-IKT")
    cases.append(c)

    # 16. SE. Just arrived and not yet looked at: stays "new".
    c = new_case(
        "ny-etikettskrivare", expect="new", when="2026-11-19 14:22", by="lars",
        subject="Etikettskrivaren i provtagningen skriver ut förskjutna streckkoder",
        description="""
Etikettskrivaren vid provtagningsdisk 2 skriver ut provrörsetiketter där
streckkoden hamnar några millimeter för långt till höger, så att den ibland
klipps av. Labbet kan läsa de flesta, men ungefär var tionde etikett måste
skrivas ut igen. Vi använder skrivaren vid disk 1 så länge.
Skrivare: ETK-OSD-0207.
""",
        type="incident", category="utskrift", priority="low", team="servicedesk",
        reporter="Märta Håkansson <marta.hakansson@regionjh.example>", phone="+46 63 15 30 00",
        org="Region Jämtland Härjedalen, Östersunds sjukhus, Provtagningen",
        fields={"skrivare": "ETK-OSD-0207"},
    )
    cases.append(c)

    return cases


# --------------------------------------------------------------------------
# Running the plan
# --------------------------------------------------------------------------


def run_cases(cli: Casectl, cases: list[CaseScript]) -> None:
    """Execute every step of every case in global time order.

    Interleaving by time (rather than case by case) makes the throwaway
    repository's git history read like a real desk's: one commit per action,
    in the order things happened.
    """
    order = sorted(
        ((step.when, ci, si) for ci, case in enumerate(cases) for si, step in enumerate(case.steps)),
    )
    for _, ci, si in order:
        case = cases[ci]
        step = case.steps[si]
        out = cli.run(case.argv(step), at=step.when, agent=step.agent, stdin=step.stdin)
        if si == 0:
            case.case_id = parse_new_id(out, case.key)


def parse_new_id(stdout: str, key: str) -> str:
    # The contract is "prints the new id on stdout"; insist on exactly that so
    # a change in the output format is noticed here, not three steps later.
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if len(lines) != 1 or len(lines[0].split()) != 1:
        raise RuntimeError(f"{key}: `casectl new` printed {stdout!r}, expected just the case id")
    return lines[0]


@dataclass(frozen=True)
class Summary:
    id: str
    type: str
    priority: str
    status: str
    subject: str
    kinds: frozenset[str] = frozenset()  # the event kinds in the case's log


def summarize(cli: Casectl, cases: list[CaseScript]) -> list[Summary]:
    """Read each case back through `casectl show --json` and check its final status."""
    last = max(step.when for case in cases for step in case.steps) + mins(1)
    rows: list[Summary] = []
    problems: list[str] = []
    for case in cases:
        assert case.case_id is not None
        data = json.loads(cli.run(["show", case.case_id, "--json"], at=last, agent=ADMIN))
        kinds = frozenset(str(event.get("kind")) for event in data.get("log", []))
        row = Summary(data["id"], data["type"], data["priority"], data["status"],
                      data["subject"], kinds)
        if row.status != case.expect_status:
            problems.append(f"{case.key} ({row.id}): status {row.status}, expected {case.expect_status}")
        rows.append(row)
    if problems:
        raise RuntimeError("cases ended in the wrong status:\n  " + "\n  ".join(problems))
    return rows


def check_coverage(rows: list[Summary]) -> None:
    """The examples promise every type, priority and status; keep that promise."""
    wanted = {
        "type": {"incident", "request", "order", "change"},
        "priority": {"critical", "high", "medium", "low"},
        "status": {"new", "started", "waiting", "solved", "closed", "rejected"},
    }
    for attr, values in wanted.items():
        missing = values - {getattr(r, attr) for r in rows}
        if missing:
            raise RuntimeError(f"examples cover no case with {attr} {sorted(missing)}")
    # The actions the examples exist to show, by the event kind each leaves in a log.
    shown = {"created", "assigned", "taken", "handed_over", "worklog", "note", "email",
             "priority_set", "status_changed", "solved", "closed", "rejected", "reopened"}
    missing = shown - set().union(*(r.kinds for r in rows))
    if missing:
        raise RuntimeError(f"no example log holds an event of kind {sorted(missing)}")


def replace_cases(src: Path, out: Path) -> int:
    """Replace out/ with the case files under src/, keeping the YYYY/MM layout.

    Refuses to touch an out/ that holds anything but case files, so a wrong
    --out cannot wipe unrelated work.
    """
    if out.exists():
        strangers = [p for p in out.rglob("*")
                     if p.is_file() and p.suffix not in {".yaml", ".yml"} and p.name != ".gitkeep"]
        if strangers:
            raise RuntimeError(f"{out} holds files that are not cases (e.g. {strangers[0]}); "
                               "refusing to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    count = 0
    for path in sorted(src.rglob("*.yaml")):
        target = out / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        count += 1
    return count


def print_summary(rows: list[Summary]) -> None:
    header = Summary("ID", "TYPE", "PRIORITY", "STATUS", "SUBJECT")
    for r in [header, *rows]:
        print(f"{r.id:<10}  {r.type:<8}  {r.priority:<8}  {r.status:<8}  {r.subject}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to put the case files (default: {DEFAULT_OUT})")
    parser.add_argument("--keep", action="store_true",
                        help="keep the throwaway case repository and print its path")
    args = parser.parse_args(argv)

    cases = build_cases()
    tmp = Path(tempfile.mkdtemp(prefix="casectl-examples-"))
    try:
        home = tmp / "home"
        home.mkdir()
        cli = Casectl(repo=tmp / "desk", home=home)
        setup_desk(cli)
        run_cases(cli, cases)
        rows = summarize(cli, cases)
        check_coverage(rows)
        last = max(step.when for case in cases for step in case.steps) + mins(2)
        cli.run(["validate"], at=last, agent=ADMIN)
        count = replace_cases(cli.repo / "cases", args.out.resolve())
    except CasectlFailed as exc:
        sys.stderr.write(exc.report())
        return 1
    except RuntimeError as exc:
        sys.stderr.write(f"make_examples: {exc}\n")
        return 1
    finally:
        if args.keep:
            # On stderr so a failing run shows it too; stdout stays the summary.
            print(f"example repository kept at {tmp / 'desk'}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print_summary(rows)
    print(f"\n{count} case files written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
