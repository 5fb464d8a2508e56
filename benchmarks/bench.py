#!/usr/bin/env python3
"""Benchmark casectl on a realistic case repository of N cases.

    python benchmarks/bench.py --cases 10000
    python benchmarks/bench.py --cases 100000 --runs 7 --validate-runs 3

What it does:

1. Generates (or reuses) a case repository of N cases under
   ``benchmarks/work/<N>/repo``: ``casectl init``, teams and agents added
   through the command line, then the case files built in Python with
   casectl's own functions (``model.make_event``/``with_header``,
   ``ids.new_case_id``/``new_event_id``, ``yamlio.dump``) in worker
   processes, written to disk and committed in ONE commit with plain git,
   then packed (``git gc``) as a repository in use would be. Cases are a
   Nordic healthcare desk's: Norwegian, Swedish and Danish subjects and
   descriptions, 3-10 events each, created over the last two years (the case
   id carries the creation time, so the path's YYYY/MM is the creation
   month), about 20% open (more among recent cases). The query index is then
   built once with ``casectl list --limit 1`` (timed once, not in the table;
   ``--rebuild-index`` rebuilds and times it again on a reused repository).

2. Times whole processes (wall clock, subprocess) with CASECTL_AGENT set and a
   pinned git configuration (GIT_CONFIG_GLOBAL -> a file under the work
   directory, GIT_CONFIG_NOSYSTEM=1): ``casectl new``, ``log``, ``close``
   (each run on a different open case), ``list`` (open cases), ``list --all
   --limit 50``, ``search WORD``, ``validate`` (fewer runs), and beside them
   a plain ``git add`` + ``git commit`` of one changed case file with git's
   defaults, and ``python -c pass`` / ``python -c "import casectl.cli"`` as
   the floor. Rounds are interleaved (one warm-up round, then one run of
   every operation per round) so that the machine's drift from minute to
   minute hits all operations alike; the table shows the median and min.

   The plain-git baseline runs in a clone of the case repository
   (``benchmarks/work/<N>/baseline``): casectl sets core.splitIndex=true in
   the repositories it makes, a clone does not inherit that, and the clone's
   index is rewritten unsplit (``git -c core.splitIndex=false update-index
   --no-split-index``), so the baseline is git as it comes.

3. Prints a Markdown table with the targets and writes it to
   ``benchmarks/results-<N>.md``. When a target is missed (or with
   ``--profile``) it adds diagnostics: ``GIT_TRACE_PERFORMANCE`` of one action
   and of the baseline, ``-X importtime`` and cProfile of the slow command.
   Hand-written analysis kept in ``benchmarks/analysis-<N>.md`` is copied into
   the results file.

Standard library only, plus casectl itself. Started with another python it
re-executes itself with the project's virtualenv (.venv), so the case files
are built by the same casectl and PyYAML that the timed commands run.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Final, Sequence
from zoneinfo import ZoneInfo

PROJECT: Final = Path(__file__).resolve().parent.parent
BENCH_DIR: Final = PROJECT / "benchmarks"
VENV_BIN: Final = PROJECT / ".venv" / "bin"
PYTHON: Final = VENV_BIN / "python"
CASECTL: Final = VENV_BIN / "casectl"

if (__name__ == "__main__" and PYTHON.exists()
        and Path(sys.prefix).resolve() != PYTHON.parent.parent.resolve()):
    # Build cases with the same casectl and PyYAML that the timed commands use.
    os.execv(str(PYTHON), [str(PYTHON), __file__, *sys.argv[1:]])
sys.path.insert(0, str(PROJECT))
from casectl import clock, ids, model, store, yamlio  # noqa: E402

DESK_TZ: Final = ZoneInfo("Europe/Oslo")
DESK_NAME: Final = "Nordisk helse-IKT servicedesk"
ACTING_AGENT: Final = "ingrid"
META_FILE: Final = "generated.json"
SPAN_DAYS: Final = 730

# ---------------------------------------------------------------- the desk

TEAMS: Final = [
    ("servicedesk", "Servicedesk", "servicedesk@helseikt.example"),
    ("k-ikt", "Kommune-IKT", "k-ikt@helseikt.example"),
    ("e-helse", "E-helse", "e-helse@helseikt.example"),
    ("nettverk", "Nettverk", "nettverk@helseikt.example"),
    ("klinisk-app", "Kliniske applikasjoner", "klinisk-app@helseikt.example"),
    ("server", "Servergruppen", "server@helseikt.example"),
    ("arbeidsplass", "Arbeidsplasstjenester", "arbeidsplass@helseikt.example"),
]


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    teams: tuple[str, ...]
    roles: tuple[str, ...]

    @property
    def email(self) -> str:
        return f"{self.id}@helseikt.example"


AGENTS: Final = [
    Agent("ingrid", "Ingrid Sæther", ("servicedesk",), ("receiver", "handler", "admin")),
    Agent("bjorn", "Bjørn Åsheim", ("servicedesk", "k-ikt"), ("receiver", "handler")),
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
RECEIVERS: Final = [a for a in AGENTS if "receiver" in a.roles]
HOME_TEAM: Final = {a.id: a.teams[0] for a in AGENTS}
TEAM_MEMBERS: Final = {t: [a for a in AGENTS if t in a.teams] for t, _, _ in TEAMS}
CATEGORIES: Final = ["tilgang", "epj", "nettverk", "skriver", "e-post", "maskinvare",
                     "programvare", "telefoni", "laboratoriesystem", "integrasjon", "mobil"]

# ---------------------------------------------------------------- the words

# Per language: systems, problems, organisations (name, mail domain, place),
# reporters, and the sentences cases are made of. {s} system, {p} problem,
# {pc} a PC, {n} a number, {t} a time of day, {o} the organisation, {who}
# the reporter's first name, {agent} an agent's name.
LANG: Final[dict[str, dict[str, list[Any]]]] = {
    "no": {
        "systems": ["DIPS Arena", "CGM Journal", "Gerica", "Profil", "Visma Flyt Helsestasjon",
                    "Citrix", "Outlook", "Teams", "Helsenett-VPN", "e-resept", "Kjernejournal",
                    "Unilab", "Imprivata", "Min side", "Windows 11", "skriveren på vaktrommet",
                    "Medisinsk kodeverk", "Helsenorge", "Pasientreiser", "Lifecare"],
        "problems": ["får ikke logget inn", "henger ved oppstart", "er svært treg",
                     "gir feilmelding ved lagring", "mangler tilgang", "skriver ut blanke ark",
                     "kobler ikke til serveren", "låser kontoen etter passordbytte",
                     "viser feil pasientliste", "synkroniserer ikke",
                     "krasjer når journalen åpnes", "sier at passordet er utløpt",
                     "gir sertifikatfeil", "har ingen lyd i møter", "finner ikke e-resepten"],
        "orgs": [("Bergen kommune, hjemmesykepleien", "bergen.kommune.example", "Bergen"),
                 ("Trondheim kommune, legevakten", "trondheim.kommune.example", "Trondheim"),
                 ("Levanger kommune", "levanger.kommune.example", "Levanger"),
                 ("Tromsø kommune, helsestasjonen", "tromso.kommune.example", "Tromsø"),
                 ("Bodø kommune, Vollen sykehjem", "bodo.kommune.example", "Bodø"),
                 ("Helse Bergen HF, Haukeland", "helse-bergen.example", "Bergen"),
                 ("Sørlandet sykehus HF", "sshf.example", "Kristiansand"),
                 ("St. Olavs hospital HF", "stolav.example", "Trondheim"),
                 ("Drammen kommune, fastlegekontoret", "drammen.kommune.example", "Drammen"),
                 ("Ålesund kommune, Åse sykehjem", "alesund.kommune.example", "Ålesund")],
        "names": ["Hilde Rønningen", "Ola Nordmann", "Kari Øyen", "Tone Bjørnevik",
                  "Per Ødegård", "Åse Kvåle", "Sindre Løkken", "Marit Haugen",
                  "Jørgen Bråthen", "Torbjørn Fjellheim", "Randi Aas", "Silje Ødegaard"],
        "phone": ["+47 {a}{b}{c} {d}{e} {f}{g}{h}"],
        "subject": ["{s} {p}", "{s}: {p}", "{s} {p} på {place}", "Bruker i {place}: {s} {p}",
                    "{s} {p} etter oppdatering", "Flere brukere: {s} {p}"],
        "desc": [
            "Innmelder ringte servicedesk kl. {t}. {s} {p} på {pc}.",
            "Feilen kom etter nattens oppdatering og gjelder hele avdelingen.",
            "Bare denne brukeren er rammet; kollegene på vakt kan jobbe som normalt.",
            "Hun har logget av og på og startet PC-en på nytt uten hell.",
            "Feilmelding: «Kan ikke koble til tjenesten (feilkode {n})».",
            "Konsekvens: journalnotater blir liggende usignert til feilen er rettet.",
            "Gjelder {pc} og to andre maskiner på samme gang.",
            "Pålogging til Windows og Citrix fungerer, bare {s} feiler.",
            "Brukeren trenger tilgang før vakten starter i morgen kl. 07.",
            "Det haster: legevakten har pasienter i kø.",
        ],
        "worklog": [
            "Ringte brukeren og fikk bekreftet feilen. Sjekker loggene på serveren.",
            "Kontrollert brukeren i AD: mangler tilgangsgruppen for {place}. Bestilt endring.",
            "Fjernstyrt {pc}, tømt hurtigbuffer i {s} og startet klienten på nytt.",
            "Installert siste versjon av {s}-klienten på {pc}.",
            "Tilbakestilt passordet og bedt brukeren logge inn på nytt.",
            "Feilen reprodusert på testmaskin. Meldt til leverandøren med saksnr. {n}.",
            "Leverandøren har levert rettelse, testet OK i testmiljøet.",
            "Byttet nettverkskabel og port i veggen; {pc} har nå fast forbindelse.",
        ],
        "note": [
            "Intern: tilgangsendringen krever godkjenning fra enhetsleder.",
            "Intern: samme feil som i fjor høst, se leverandørens kjente feil {n}.",
            "Intern: avtalt med {agent} at hun tar over hvis det ikke er løst i dag.",
            "Intern: sjekk om flere på {place} er rammet før vi eskalerer.",
        ],
        "email": [
            "Hei {who}! Vi jobber med saken og gir beskjed så snart vi vet mer.",
            "Hei {who}! Du har nå fått tilgang. Logg helt ut og inn igjen, så skal det virke.",
            "Hei {who}! Kan du sende oss et skjermbilde av feilmeldingen?",
        ],
        "solution": [
            "Brukeren manglet AD-gruppen for {place}. Ny gruppe lagt til etter godkjenning, "
            "brukeren bekreftet at {s} virker.",
            "Klienten for {s} reinstallert på {pc}. Testet sammen med brukeren: OK.",
            "Passord tilbakestilt og konto låst opp. Brukeren er logget inn igjen.",
            "Leverandøren rettet feilen i versjon 24.{n}. Oppdatering rullet ut.",
            "Skriverdriver oppdatert og køen tømt; utskrift fungerer igjen.",
            "Sertifikatet fornyet på serveren; {s} kobler til uten feil.",
        ],
        "reject": [
            "Hører under regionens leverandør; innmelder er bedt om å kontakte dem direkte.",
            "Duplikat av en sak som allerede er under arbeid.",
            "Bestillingen mangler godkjenning fra leder og er trukket tilbake av innmelder.",
        ],
        "wait": [
            "Venter på svar fra brukeren om når vi kan fjernstyre PC-en.",
            "Venter på godkjenning fra enhetsleder.",
            "Venter på leverandøren.",
        ],
        "assign": [
            "{agent} kjenner oppsettet for {s}.",
            "Trenger noen med tilgang til serverne.",
            "Overført etter avtale på morgenmøtet.",
        ],
        "fields": ["kommune", "epj"],
    },
    "sv": {
        "systems": ["Cosmic", "TakeCare", "Millennium", "1177 e-tjänster", "Pascal", "NPÖ",
                    "Citrix", "Outlook", "Teams", "Melior", "SITHS-kortet",
                    "skrivaren på avdelningen", "VPN-klienten", "Procapita", "Windows 11",
                    "Journalia", "Webcert", "Intelligent Sjukvård", "Lifecare"],
        "problems": ["går inte att logga in i", "hänger sig vid start", "svarar mycket långsamt",
                     "ger felmeddelande vid signering", "saknar behörighet",
                     "skriver ut tomma sidor", "tappar anslutningen", "låser kontot",
                     "visar fel patientlista", "synkar inte", "kraschar när journalen öppnas",
                     "säger att lösenordet har gått ut", "ger certifikatfel",
                     "har inget ljud i möten", "hittar inte remissen"],
        "orgs": [("Region Stockholm, Karolinska Solna", "regionstockholm.example", "Solna"),
                 ("Region Uppsala, Akademiska sjukhuset", "regionuppsala.example", "Uppsala"),
                 ("Region Örebro län, vårdcentral Tybble", "regionorebrolan.example", "Örebro"),
                 ("Region Skåne, Skånes universitetssjukhus", "skane.example", "Malmö"),
                 ("Solna stad, hemtjänsten", "solna.example", "Solna"),
                 ("Västra Götalandsregionen, Sahlgrenska", "vgregion.example", "Göteborg"),
                 ("Region Dalarna, Falu lasarett", "regiondalarna.example", "Falun"),
                 ("Region Jämtland Härjedalen", "regionjh.example", "Östersund")],
        "names": ["Anna Lindqvist", "Erik Söderström", "Maria Åkesson", "Karin Björk",
                  "Johan Ekström", "Elin Håkansson", "Gunnar Nyström", "Sofia Wikström",
                  "Björn Lindgren", "Ulla Sjöberg", "Åsa Hägglund", "Mats Öberg"],
        "phone": ["+46 7{a} {b}{c}{d} {e}{f} {g}{h}"],
        "subject": ["{s} {p}", "{s}: {p}", "{s} {p} i {place}", "Användare i {place}: {s} {p}",
                    "{s} {p} efter uppdatering", "Flera användare: {s} {p}"],
        "desc": [
            "Anmälaren ringde servicedesken kl. {t}. {s} {p} på {pc}.",
            "Felet uppstod efter nattens uppdatering och gäller hela avdelningen.",
            "Bara den här användaren är drabbad; kollegerna kan arbeta som vanligt.",
            "Hon har loggat ut och in och startat om datorn utan att det hjälpt.",
            "Felmeddelande: \"Kan inte ansluta till tjänsten (felkod {n})\".",
            "Konsekvens: journalanteckningar kan inte signeras förrän felet är åtgärdat.",
            "Gäller {pc} och två andra datorer samtidigt.",
            "Inloggning i Windows och Citrix fungerar, bara {s} fallerar.",
            "Användaren behöver behörighet innan passet börjar i morgon kl. 07.",
            "Brådskande: akuten har patienter i kö.",
        ],
        "worklog": [
            "Ringde användaren och fick felet bekräftat. Kontrollerar loggarna på servern.",
            "Kontrollerat användaren i AD: saknar behörighetsgruppen för {place}. Beställt.",
            "Fjärrstyrt {pc}, rensat cachen i {s} och startat om klienten.",
            "Installerat senaste versionen av {s} på {pc}.",
            "Återställt lösenordet och bett användaren logga in igen.",
            "Felet återskapat på testdator. Anmält till leverantören med ärendenr {n}.",
            "Leverantören har levererat en rättning, testad OK i testmiljön.",
            "Bytt nätverkskabel och uttag; {pc} har nu stabil anslutning.",
        ],
        "note": [
            "Internt: behörighetsändringen kräver godkännande av enhetschef.",
            "Internt: samma fel som i höstas, se leverantörens kända fel {n}.",
            "Internt: överens med {agent} om att hon tar över om det inte är löst i dag.",
            "Internt: kolla om fler i {place} är drabbade innan vi eskalerar.",
        ],
        "email": [
            "Hej {who}! Vi arbetar med ärendet och återkommer så snart vi vet mer.",
            "Hej {who}! Du har nu fått behörighet. Logga ut helt och in igen.",
            "Hej {who}! Kan du skicka en skärmdump av felmeddelandet?",
        ],
        "solution": [
            "Användaren saknade AD-gruppen för {place}. Gruppen tillagd efter godkännande, "
            "användaren bekräftade att {s} fungerar.",
            "Klienten för {s} ominstallerad på {pc}. Testat tillsammans med användaren: OK.",
            "Lösenordet återställt och kontot upplåst. Användaren är inloggad igen.",
            "Leverantören rättade felet i version 24.{n}. Uppdateringen utrullad.",
            "Skrivardrivrutinen uppdaterad och kön tömd; utskrift fungerar igen.",
            "Certifikatet förnyat på servern; {s} ansluter utan fel.",
        ],
        "reject": [
            "Hör till regionens leverantör; anmälaren ombedd att kontakta dem direkt.",
            "Dubblett av ett ärende som redan hanteras.",
            "Beställningen saknar chefens godkännande och har dragits tillbaka.",
        ],
        "wait": [
            "Väntar på svar från användaren om när vi kan fjärrstyra datorn.",
            "Väntar på godkännande från enhetschef.",
            "Väntar på leverantören.",
        ],
        "assign": [
            "{agent} känner till uppsättningen för {s}.",
            "Behöver någon med behörighet till servrarna.",
            "Överfört enligt överenskommelse på morgonmötet.",
        ],
        "fields": ["region", "hsa-id"],
    },
    "da": {
        "systems": ["Sundhedsplatformen", "FMK", "Cosmic", "Citrix", "Outlook", "Teams",
                    "Columna CIS", "Systematic Cura", "MitID Erhverv", "printeren på afsnittet",
                    "VPN-klienten", "Sundhed.dk", "KMD Nexus", "Windows 11", "EPJ Nord",
                    "Medicinkortet", "Labka", "e-Boks"],
        "problems": ["kan ikke logge ind", "hænger ved opstart", "svarer meget langsomt",
                     "giver fejlbesked ved gem", "mangler adgang", "printer blanke sider",
                     "mister forbindelsen", "låser kontoen", "viser forkert patientliste",
                     "synkroniserer ikke", "går ned når journalen åbnes",
                     "siger at adgangskoden er udløbet", "giver certifikatfejl",
                     "har ingen lyd i møder", "finder ikke henvisningen"],
        "orgs": [("Region Hovedstaden, Rigshospitalet", "regionh.example", "København"),
                 ("Region Midtjylland, Aarhus Universitetshospital", "rm.example", "Aarhus"),
                 ("Region Syddanmark, OUH Odense", "rsyd.example", "Odense"),
                 ("Region Nordjylland, Aalborg Universitetshospital", "rn.example", "Aalborg"),
                 ("Region Sjælland, Roskilde Sygehus", "regionsjaelland.example", "Roskilde"),
                 ("Aarhus Kommune, hjemmeplejen", "aarhus.example", "Aarhus"),
                 ("Odense Kommune, sundhedsplejen", "odense.example", "Odense"),
                 ("Københavns Kommune, plejecenter Sølund", "kk.example", "København")],
        "names": ["Anders Jørgensen", "Camilla Brøndum", "Jens Mølgaard", "Pernille Dahl",
                  "Henrik Fog", "Sanne Lund", "Søren Kjær", "Birgitte Østergård",
                  "Mads Nørgaard", "Line Bækgaard", "Kirsten Holm", "Ib Thrane"],
        "phone": ["+45 {a}{b} {c}{d} {e}{f} {g}{h}"],
        "subject": ["{s} {p}", "{s}: {p}", "{s} {p} i {place}", "Bruger i {place}: {s} {p}",
                    "{s} {p} efter opdatering", "Flere brugere: {s} {p}"],
        "desc": [
            "Anmelder ringede til servicedesken kl. {t}. {s} {p} på {pc}.",
            "Fejlen opstod efter nattens opdatering og gælder hele afsnittet.",
            "Kun denne bruger er ramt; kollegerne kan arbejde som normalt.",
            "Hun har logget ud og ind og genstartet pc'en uden held.",
            "Fejlbesked: »Kan ikke forbinde til tjenesten (fejlkode {n})«.",
            "Konsekvens: journalnotater kan ikke signeres, før fejlen er rettet.",
            "Gælder {pc} og to andre maskiner på samme tid.",
            "Login i Windows og Citrix virker, kun {s} fejler.",
            "Brugeren skal have adgang, før vagten starter i morgen kl. 07.",
            "Det haster: akutmodtagelsen har patienter i kø.",
        ],
        "worklog": [
            "Ringede til brugeren og fik fejlen bekræftet. Tjekker logfilerne på serveren.",
            "Kontrolleret brugeren i AD: mangler adgangsgruppen for {place}. Bestilt.",
            "Fjernstyret {pc}, ryddet cache i {s} og genstartet klienten.",
            "Installeret nyeste version af {s} på {pc}.",
            "Nulstillet adgangskoden og bedt brugeren logge ind igen.",
            "Fejlen genskabt på testmaskine. Meldt til leverandøren med sagsnr. {n}.",
            "Leverandøren har leveret en rettelse, testet OK i testmiljøet.",
            "Skiftet netværkskabel og stik; {pc} har nu stabil forbindelse.",
        ],
        "note": [
            "Internt: adgangsændringen kræver godkendelse fra afdelingsleder.",
            "Internt: samme fejl som sidste efterår, se leverandørens kendte fejl {n}.",
            "Internt: aftalt med {agent}, at hun tager over, hvis det ikke er løst i dag.",
            "Internt: tjek om flere i {place} er ramt, før vi eskalerer.",
        ],
        "email": [
            "Hej {who}! Vi arbejder på sagen og vender tilbage, så snart vi ved mere.",
            "Hej {who}! Du har nu fået adgang. Log helt ud og ind igen.",
            "Hej {who}! Kan du sende os et skærmbillede af fejlbeskeden?",
        ],
        "solution": [
            "Brugeren manglede AD-gruppen for {place}. Gruppen tilføjet efter godkendelse, "
            "brugeren bekræftede, at {s} virker.",
            "Klienten til {s} geninstalleret på {pc}. Testet sammen med brugeren: OK.",
            "Adgangskode nulstillet og konto låst op. Brugeren er logget ind igen.",
            "Leverandøren rettede fejlen i version 24.{n}. Opdateringen rullet ud.",
            "Printerdriver opdateret og køen tømt; udskrift virker igen.",
            "Certifikatet fornyet på serveren; {s} forbinder uden fejl.",
        ],
        "reject": [
            "Hører under regionens leverandør; anmelder er bedt om at kontakte dem direkte.",
            "Dublet af en sag, der allerede er under behandling.",
            "Bestillingen mangler lederens godkendelse og er trukket tilbage.",
        ],
        "wait": [
            "Venter på svar fra brugeren om, hvornår vi kan fjernstyre pc'en.",
            "Venter på godkendelse fra afdelingsleder.",
            "Venter på leverandøren.",
        ],
        "assign": [
            "{agent} kender opsætningen af {s}.",
            "Kræver en med adgang til serverne.",
            "Overdraget efter aftale på morgenmødet.",
        ],
        "fields": ["region", "afsnit"],
    },
}
LANG_WEIGHTS: Final = [("no", 0.5), ("sv", 0.3), ("da", 0.2)]
TYPES: Final = [("incident", 55), ("request", 30), ("order", 8), ("change", 7)]
PRIORITIES: Final = [("critical", 2), ("high", 13), ("medium", 60), ("low", 25)]
OPEN_MIX: Final = [("new", 25), ("started", 40), ("waiting", 20), ("solved", 15)]
FOLD: Final = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "é": "e",
                             "Æ": "Ae", "Ø": "O", "Å": "A", "Ä": "A", "Ö": "O"})


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


class CaseWriter:
    """Builds one realistic case document with casectl's own functions."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now

    # -- time

    def created_at(self) -> datetime:
        """A moment in the last two years, mostly office hours on weekdays."""
        rng = self.rng
        while True:
            age = timedelta(days=rng.uniform(0, SPAN_DAYS))
            day = (self.now - age).astimezone(DESK_TZ)
            if day.weekday() >= 5 and rng.random() < 0.8:
                continue
            if rng.random() < 0.85:
                minute = rng.randint(7 * 60, 16 * 60)
            else:
                minute = rng.randint(0, 24 * 60 - 1)
            local = day.replace(hour=minute // 60, minute=minute % 60, second=rng.randint(0, 59),
                                microsecond=rng.randint(0, 999) * 1000)
            moment = local.astimezone(timezone.utc).astimezone(DESK_TZ)  # DST-normalised
            if moment < self.now - timedelta(hours=2):
                return moment

    def event_times(self, created: datetime, count: int) -> list[datetime]:
        rng = self.rng
        gaps = []
        for _ in range(count - 1):
            r = rng.random()
            minutes = (rng.uniform(1, 45) if r < 0.5 else rng.uniform(60, 480) if r < 0.8
                       else rng.uniform(1440, 4320) if r < 0.95 else rng.uniform(4320, 20160))
            gaps.append(timedelta(minutes=minutes))
        room = self.now - timedelta(minutes=5) - created
        total = sum(gaps, timedelta())
        if total > room:
            gaps = [gap * (room / total) for gap in gaps]
        times = [created]
        for gap in gaps:
            step = max(gap, timedelta(seconds=1))
            nxt = times[-1] + step
            times.append(nxt.replace(microsecond=(nxt.microsecond // 1000) * 1000))
        return times

    # -- words

    def fill(self, template: str, ctx: dict[str, str]) -> str:
        rng = self.rng
        values = {"n": str(rng.randint(1000, 99999)),
                  "t": f"{rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}",
                  "agent": rng.choice(AGENTS).name.split()[0]}
        return template.format(**{**values, **ctx})

    def phone(self, words: dict[str, list[Any]]) -> str:
        digits = {k: str(self.rng.randint(0, 9)) for k in "abcdefgh"}
        digits["a"] = str(self.rng.randint(2, 9))
        return str(words["phone"][0]).format(**digits)

    # -- the case

    def case(self) -> tuple[str, str, str]:
        """(relative path, YAML text, status) of a new case."""
        rng = self.rng
        lang = _pick(rng, LANG_WEIGHTS)
        words = LANG[lang]
        org, domain, place = rng.choice(words["orgs"])
        who = rng.choice(words["names"])
        system = rng.choice(words["systems"])
        pc = f"{place[:3].upper().translate(FOLD)}-PC-{rng.randint(1, 9999):04d}"
        ctx = {"s": system, "p": rng.choice(words["problems"]), "place": place, "pc": pc,
               "o": org, "who": who.split()[0]}

        created = self.created_at()
        ctx["t"] = (created - timedelta(minutes=rng.randint(1, 20))).strftime("%H:%M")
        age_days = (self.now - created).total_seconds() / 86400
        p_open = min(0.95, 0.175 + 0.6 * math.exp(-age_days / 30))
        if rng.random() < p_open:
            status = _pick(rng, OPEN_MIX)
        else:
            status = "closed" if rng.random() < 0.9 else "rejected"
        count = rng.choices(range(3, 11), [10, 20, 20, 16, 12, 9, 7, 6])[0]
        times = self.event_times(created, count)

        receiver = rng.choice(RECEIVERS)
        priority = _pick(rng, PRIORITIES)
        team = rng.choice([t for t, _, _ in TEAMS])
        assignee = rng.choice(TEAM_MEMBERS[team]).id if rng.random() < 0.85 else None
        email = f"{who.lower().translate(FOLD).replace(' ', '.')}@{domain}"
        has_email = rng.random() < 0.8
        reporter = {"name": who, "email": email if has_email else None,
                    "phone": self.phone(words) if rng.random() < 0.7 else None, "org": org}
        field_keys = words["fields"]
        fields: dict[str, str] = {}
        if rng.random() < 0.6:
            fields[field_keys[0]] = place
        if rng.random() < 0.3:
            fields[field_keys[1]] = str(rng.randint(10_000_000, 99_999_999))
        description = "\n".join(self.fill(line, ctx) for line in [words["desc"][0]] + rng.sample(
            words["desc"][1:], rng.randint(1, 4)))
        created_data: dict[str, Any] = {
            "subject": self.fill(rng.choice(words["subject"]), ctx)[:300],
            "description": description, "type": _pick(rng, TYPES),
            "category": rng.choice(CATEGORIES) if rng.random() < 0.8 else None,
            "priority": priority, "team": team, "assignee": assignee, "reporter": reporter,
            "notify": has_email and rng.random() < 0.5, "fields": fields}

        # The steps: a skeleton for the final status, filled with the day's work.
        head: list[tuple[str, dict[str, Any]]] = [("created", created_data)]
        tail: list[tuple[str, dict[str, Any]]] = []
        if status != "new" and status != "rejected":
            head.append(("status_changed", {"status": "started"}))
        if status == "waiting":
            tail.append(("status_changed", {"status": "waiting",
                                            "reason": self.fill(rng.choice(words["wait"]), ctx)}))
        elif status == "solved":
            tail.append(("solved", {"solution": self.fill(rng.choice(words["solution"]), ctx)}))
        elif status == "closed":
            solution = self.fill(rng.choice(words["solution"]), ctx)
            if rng.random() < 0.4:
                tail += [("solved", {"solution": solution}), ("closed", {"confirmed": True})]
            else:
                tail.append(("closed", {"solution": solution, "confirmed": True}))
        elif status == "rejected":
            tail.append(("rejected", {"reason": self.fill(rng.choice(words["reject"]), ctx)}))
        state = {"team": team, "assignee": assignee, "priority": priority}
        middle = [self.filler(words, ctx, state, has_email and email)
                  for _ in range(max(0, count - len(head) - len(tail)))]
        steps = head + middle + tail

        case_id = ids.new_case_id(created)
        actors = [receiver.id, *self._actors(steps, receiver.id)]
        log = [model.make_event(ids.new_event_id(moment), clock.isoformat(moment), actor, kind,
                                data)
               for (kind, data), moment, actor in zip(steps, times, actors)]
        case = model.with_header(case_id, log)
        return store.case_relpath(case_id), yamlio.dump(case), case["status"]

    def _actors(self, steps: list[tuple[str, dict[str, Any]]], first: str) -> list[str]:
        """Who does each step after the first: the assignee of the moment."""
        current: str = steps[0][1].get("assignee") or first
        actors: list[str] = []
        for kind, data in steps[1:]:
            actors.append(data["assignee"] if kind == "taken" else current)
            if kind in ("assigned", "taken", "handed_over") and data.get("assignee"):
                current = data["assignee"]
        return actors

    def filler(self, words: dict[str, list[Any]], ctx: dict[str, str], state: dict[str, Any],
               email: str | bool) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            return "worklog", {"text": self.fill(rng.choice(words["worklog"]), ctx)}
        if r < 0.6:
            return "note", {"text": self.fill(rng.choice(words["note"]), ctx)}
        if r < 0.72 and email:
            return "email", {"text": self.fill(rng.choice(words["email"]), ctx), "to": email}
        if r < 0.85:
            team = rng.choice([t for t, _, _ in TEAMS])
            agent = rng.choice(TEAM_MEMBERS[team])
            note = self.fill(rng.choice(words["assign"]), ctx)
            state.update(team=team, assignee=agent.id)
            if state["priority"] in ("critical", "high"):
                return "handed_over", {"to": agent.id, "note": f"{agent.name}: {note}",
                                       "assignee": agent.id, "team": team}
            return "assigned", {"team": team, "assignee": agent.id, "note": note}
        if r < 0.93:
            agent = rng.choice(AGENTS)
            data: dict[str, Any] = {"assignee": agent.id, "previous": state["assignee"]}
            if HOME_TEAM[agent.id] != state["team"]:
                data["team"] = HOME_TEAM[agent.id]
                state["team"] = data["team"]
            state["assignee"] = agent.id
            return "taken", data
        levels = [p for p, _ in PRIORITIES if p != state["priority"]]
        level = rng.choice(levels)
        data = {"priority": level, "previous": state["priority"]}
        state["priority"] = level
        return "priority_set", data


def _write_chunk(args: tuple[str, int, int, float]) -> tuple[Counter[str], int]:
    """Worker: build and write ``count`` cases; their statuses and bytes written."""
    root_text, seed, count, now_ts = args
    root = Path(root_text)
    writer = CaseWriter(random.Random(seed), datetime.fromtimestamp(now_ts, tz=DESK_TZ))
    statuses: Counter[str] = Counter()
    written = 0
    made_dirs: set[Path] = set()
    for _ in range(count):
        while True:
            rel, text, status = writer.case()
            path = root / rel
            if path.parent not in made_dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(path.parent)
            try:
                with open(path, "x", encoding="utf-8", newline="\n") as handle:
                    handle.write(text)
                break
            except FileExistsError:  # same second, same random tail: draw again
                continue
        statuses[status] += 1
        written += len(text.encode("utf-8"))
    return statuses, written


# ---------------------------------------------------------------- running things

class BenchError(RuntimeError):
    pass


@dataclass
class Env:
    """Where a benchmark works and the environment its processes get."""

    work: Path
    home: Path = field(init=False)
    repo: Path = field(init=False)
    baseline: Path = field(init=False)

    def __post_init__(self) -> None:
        self.home = self.work / "home"
        self.repo = self.work / "repo"
        self.baseline = self.work / "baseline"

    def environ(self, agent: str | None = ACTING_AGENT, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CASECTL_", "GIT_", "PYTHON", "EMAIL"))}
        env.update(HOME=str(self.home), GIT_CONFIG_GLOBAL=str(self.home / "gitconfig"),
                   GIT_CONFIG_NOSYSTEM="1", LC_ALL="C.UTF-8", GIT_TERMINAL_PROMPT="0")
        if agent:
            env["CASECTL_AGENT"] = agent
        env.update(extra)
        return env

    def write_gitconfig(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "gitconfig").write_text(
            "[user]\n\tname = Benchmark Admin\n\temail = bench@helseikt.example\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
            encoding="utf-8")


def run(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str],
        input: str | None = None, ok: Sequence[int] = (0,)) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, input=input or "",
                          capture_output=True, text=True, encoding="utf-8", errors="replace")
    if done.returncode not in ok:
        raise BenchError(f"{' '.join(map(str, cmd))} exited {done.returncode}\n"
                         f"{done.stderr[-3000:]}\n{done.stdout[-2000:]}")
    return done


def timed(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str]) -> float:
    """Wall clock of one process, its output read as bytes and dropped."""
    argv = [str(c) for c in cmd]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}\n"
                         f"{done.stderr.decode('utf-8', 'replace')[-3000:]}")
    return seconds


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    return run(["git", *args], repo, env).stdout


def du_mib(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True).stdout
    return int(out.split()[0]) / 1024 if out else float("nan")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- generation

def generate(env: Env, cases: int, jobs: int, seed: int) -> dict[str, Any]:
    """Make the case repository, committed and packed; return what it took."""
    meta: dict[str, Any] = {"cases": cases, "seed": seed}
    env.write_gitconfig()
    admin = env.environ(agent=None)
    acting = env.environ()

    start = time.perf_counter()
    run([CASECTL, "init", env.repo, "--desk", DESK_NAME, "--timezone", "Europe/Oslo"],
        env.work, admin)
    for team, name, email in TEAMS:
        run([CASECTL, "team", "add", team, "--name", name, "--email", email], env.repo, admin)
    for agent in AGENTS:
        args: list[str | Path] = [CASECTL, "agent", "add", agent.id, "--name", agent.name,
                                  "--email", agent.email]
        args += [f"--team={t}" for t in agent.teams] + [f"--role={r}" for r in agent.roles]
        run(args, env.repo, admin if agent.id == AGENTS[0].id else acting)
    meta["setup_seconds"] = time.perf_counter() - start
    log(f"desk set up through the CLI in {meta['setup_seconds']:.1f} s")

    start = time.perf_counter()
    now_ts = time.time()
    chunks = max(jobs * 8, 1)
    per = [cases // chunks + (1 if i < cases % chunks else 0) for i in range(chunks)]
    tasks = [(str(env.repo), seed * 1000 + i, n, now_ts) for i, n in enumerate(per) if n]
    statuses: Counter[str] = Counter()
    written = 0
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for chunk_statuses, chunk_bytes in pool.imap_unordered(_write_chunk, tasks):
            statuses.update(chunk_statuses)
            written += chunk_bytes
    meta["build_seconds"] = time.perf_counter() - start
    meta["statuses"] = dict(sorted(statuses.items()))
    meta["bytes"] = written
    log(f"{cases:,} cases built and written in {meta['build_seconds']:.1f} s "
        f"({written / cases:,.0f} bytes each on average)")

    start = time.perf_counter()
    git(env.repo, admin, "add", "cases")
    meta["git_add_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    # No auto gc in the background while the benchmark runs: pack explicitly below.
    git(env.repo, admin, "-c", "gc.auto=0", "commit", "--quiet", "-m",
        f"Import {cases:,} generated cases (benchmark)")
    meta["git_commit_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    git(env.repo, admin, "gc", "--quiet")
    meta["git_gc_seconds"] = time.perf_counter() - start
    log(f"git add {meta['git_add_seconds']:.1f} s, commit {meta['git_commit_seconds']:.1f} s, "
        f"gc {meta['git_gc_seconds']:.1f} s")

    meta["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    meta["stage"] = "committed"
    return meta


def build_index(env: Env) -> float:
    """Build casectl's query index from scratch with ``casectl list --limit 1``:
    the one-time cost a desk pays; the seconds it took."""
    for stale in (env.repo / ".git" / "casectl").glob("index.sqlite*"):
        stale.unlink()
    start = time.perf_counter()
    run([CASECTL, "list", "--limit", "1"], env.repo, env.environ())
    return time.perf_counter() - start


def make_baseline(env: Env) -> None:
    """A clone with git's defaults: no core.splitIndex, an unsplit index."""
    admin = env.environ(agent=None)
    if env.baseline.exists():
        shutil.rmtree(env.baseline)
    start = time.perf_counter()
    run(["git", "clone", "--quiet", str(env.repo), str(env.baseline)], env.work, admin)
    log(f"baseline clone made in {time.perf_counter() - start:.1f} s")


def check_baseline(env: Env) -> str:
    admin = env.environ(agent=None)
    git(env.baseline, admin, "-c", "core.splitIndex=false", "update-index", "--no-split-index")
    setting = run(["git", "config", "--get", "core.splitIndex"], env.baseline, admin,
                  ok=(0, 1)).stdout.strip()
    shared = list((env.baseline / ".git").glob("sharedindex.*"))
    if setting not in ("", "false") or shared:
        raise BenchError(f"the baseline clone is not git's defaults: core.splitIndex={setting!r}"
                         f", {len(shared)} shared index file(s)")
    return setting or "unset"


def append_event(path: Path, kind: str, text: str) -> str:
    """Append an event to a case file as casectl would (untimed); the commit subject."""
    case = yamlio.load(path.read_text(encoding="utf-8"), str(path))
    last = max(datetime.fromisoformat(e["at"]) for e in case["log"])
    moment = max(clock.now(DESK_TZ), last + timedelta(milliseconds=1))
    event = model.make_event(ids.new_event_id(moment), clock.isoformat(moment), ACTING_AGENT,
                             kind, {"text": text})
    store.write_atomic(path, yamlio.dump(model.with_header(case["id"], case["log"] + [event])))
    return f"{case['id']} {'log' if kind == 'worklog' else kind}: {case['subject']}"


# ---------------------------------------------------------------- the benchmark

SUBJECTS: Final = [
    "DIPS Arena henger ved oppstart på legevakten",
    "Cosmic: går inte att logga in på vårdcentralen",
    "Sundhedsplatformen svarer meget langsomt på afsnit B3",
    "Skriveren på vaktrommet skriver ut blanke ark",
    "Outlook synkar inte kalendern efter lösenordsbyte",
    "FMK giver certifikatfejl ved ordination",
    "Ny ansatt trenger tilgang til Gerica fra mandag",
    "Teams har ingen lyd i møter på Haukeland",
]


@dataclass
class Op:
    """One timed operation: a name, what to run each round, the timings."""

    name: str
    action: Callable[[int], float]
    rounds: int | None = None  # None: every round
    times: list[float] = field(default_factory=list)
    target: str = ""
    verdict: str = ""


class Bench:
    def __init__(self, env: Env, runs: int, validate_runs: int, search_word: str,
                 seed: int) -> None:
        self.env = env
        self.runs = runs
        self.validate_runs = validate_runs
        self.search_word = search_word
        self.rng = random.Random(seed)
        self.acting = env.environ()
        self.plain = env.environ(agent=None)

    # -- choosing cases

    def open_cases(self) -> list[str]:
        out = run([CASECTL, "list", "--format", "csv"], self.env.repo, self.acting).stdout
        ids_ = [line.split(",", 1)[0] for line in out.splitlines()[1:] if line]
        self.rng.shuffle(ids_)
        return ids_

    def baseline_files(self, count: int) -> list[str]:
        out = git(self.env.baseline, self.plain, "ls-files", "-z", "cases")
        files = [f for f in out.split("\0") if f.endswith(".yaml")]
        return self.rng.sample(files, count)

    # -- the operations

    def casectl(self, *args: str) -> float:
        return timed([CASECTL, *args], self.env.repo, self.acting)

    def build(self) -> list[Op]:
        rounds = self.runs + 1  # the first is the warm-up
        open_ids = self.open_cases()
        need = 3 * rounds
        if len(open_ids) < need:
            raise BenchError(f"only {len(open_ids)} open cases; need {need}")
        log_ids = open_ids[:rounds]
        close_ids = open_ids[rounds:2 * rounds]
        behind_ids = open_ids[2 * rounds:3 * rounds]
        baseline_files = self.baseline_files(rounds)
        words = LANG["no"]

        def new(i: int) -> float:
            subject = f"{SUBJECTS[i % len(SUBJECTS)]} ({i})"
            return self.casectl(
                "new", "--subject", subject, "--description",
                "Innmelder ringte kl. 08:40.\nFeilen gjelder hele avdelingen.",
                "--reporter", "Hilde Rønningen <hilde.ronningen@levanger.kommune.example>",
                "--phone", "+47 481 22 907", "--org", "Levanger kommune",
                "--priority", "high", "--type", "incident", "--field", "kommune=Levanger")

        def log_(i: int) -> float:
            return self.casectl("log", log_ids[i], words["worklog"][i % len(words["worklog"])]
                                .format(place="Levanger", pc="LEV-PC-0042", s="DIPS Arena",
                                        n="4711"))

        def close(i: int) -> float:
            return self.casectl("close", close_ids[i], "--confirmed", "--solution",
                                "Passord tilbakestilt og konto låst opp. Brukeren er logget inn "
                                "igjen og bekreftet at alt virker.")

        def list_open(i: int) -> float:
            run([CASECTL, "list", "--limit", "1"], self.env.repo, self.acting)  # index current
            return self.casectl("list")

        def list_behind(i: int) -> float:
            run([CASECTL, "log", behind_ids[i], "Fulgt opp på telefon."], self.env.repo,
                self.acting)
            return self.casectl("list")

        def plain_commit(i: int) -> float:
            rel = baseline_files[i]
            subject = append_event(self.env.baseline / rel, "worklog", "Fulgt opp på telefon.")
            start = time.perf_counter()
            run(["git", "add", rel], self.env.baseline, self.plain)
            run(["git", "commit", "--quiet", "-m", subject], self.env.baseline, self.plain)
            return time.perf_counter() - start

        def same_repo_commit(i: int) -> float:
            """Plain git in the case repository itself (split index, as casectl sets it)."""
            rel = store.case_relpath(behind_ids[i])
            subject = append_event(self.env.repo / rel, "note", "Intern: kontrollert.")
            start = time.perf_counter()
            run(["git", "add", rel], self.env.repo, self.plain)
            run(["git", "commit", "--quiet", "-m", subject], self.env.repo, self.plain)
            return time.perf_counter() - start

        py = str(PYTHON)
        return [
            Op("`python -c pass` (floor)", lambda i: timed([py, "-c", "pass"], PROJECT,
                                                          self.acting)),
            Op("`python -c \"import casectl.cli\"` (floor)",
               lambda i: timed([py, "-c", "import casectl.cli"], PROJECT, self.acting)),
            Op("plain `git add` + `git commit`, one case file (baseline clone, git defaults)",
               plain_commit),
            Op("plain `git add` + `git commit` in the case repo (split index)",
               same_repo_commit),
            Op("`casectl new`", new),
            Op("`casectl log`", log_),
            Op("`casectl close --confirmed`", close),
            Op("`casectl list` (open cases)", list_open),
            Op("`casectl list` right after an action (index one commit behind)", list_behind),
            Op("`casectl list --all --limit 50`",
               lambda i: self.casectl("list", "--all", "--limit", "50")),
            Op(f"`casectl search {self.search_word}`",
               lambda i: self.casectl("search", self.search_word)),
            Op("`casectl validate` (whole repository)", lambda i: self.casectl("validate"),
               rounds=self.validate_runs),
        ]

    def measure(self, ops: list[Op]) -> None:
        for round_ in range(self.runs + 1):
            label = "warm-up" if round_ == 0 else f"round {round_}/{self.runs}"
            log(label)
            for op in ops:
                if op.rounds is not None and (op.rounds == 0 or round_ > op.rounds):
                    continue
                seconds = op.action(round_)
                if round_:
                    op.times.append(seconds)


def judge(ops: list[Op], cases: int) -> list[str]:
    """Fill in targets and verdicts; return the names of the missed ones."""
    by_name = {op.name: op for op in ops}
    plain = statistics.median(
        by_name["plain `git add` + `git commit`, one case file (baseline clone, git defaults)"]
        .times)
    large = cases >= 100_000
    missed = []
    for op in ops:
        if not op.times:
            continue
        median = statistics.median(op.times)
        if op.name.startswith(("`casectl new`", "`casectl log`", "`casectl close")):
            ratio = median / plain
            if large:
                op.target = f"< plain commit ({plain:.3f} s)"
                ok = median < plain
            else:
                op.target = f"≤ 3× plain commit ({3 * plain:.3f} s)"
                ok = median <= 3 * plain
            op.verdict = f"{'met' if ok else '**missed**'} ({ratio:.1f}× plain)"
        elif op.name == "`casectl list` (open cases)":
            limit = 0.5 if large else 0.3
            op.target = f"< {limit} s"
            ok = median < limit
            op.verdict = "met" if ok else "**missed**"
        elif op.name.startswith("`casectl validate`") and not large:
            op.target = "< 10 s"
            ok = median < 10
            op.verdict = "met" if ok else "**missed**"
        else:
            continue
        if not ok:
            missed.append(op.name)
    return missed


def table(ops: list[Op]) -> str:
    lines = ["| operation | median (s) | min (s) | runs | target | result |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for op in ops:
        if op.times:
            lines.append(f"| {op.name} | {statistics.median(op.times):.3f} | "
                         f"{min(op.times):.3f} | {len(op.times)} | {op.target or '–'} | "
                         f"{op.verdict or '–'} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- diagnostics

def git_trace(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str]) -> str:
    """Each git process a command runs, with git's own timing of it. The trace
    goes to a file: casectl captures its git processes' standard error."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace"
        start = time.perf_counter()
        run(cmd, cwd, dict(env, GIT_TRACE_PERFORMANCE=str(trace)))
        wall = time.perf_counter() - start
        text = trace.read_text(encoding="utf-8", errors="replace") if trace.exists() else ""
    rows = []
    total = 0.0
    for line in text.splitlines():
        match = re.search(r"performance: ([0-9.]+) s: +git command: (.*)$", line)
        if match:
            seconds = float(match.group(1))
            total += seconds
            command = match.group(2).replace("'", "")
            command = re.sub(r"^\S*git (-c \S+ )*", "git ", command)
            rows.append(f"    {seconds:7.3f} s  {command[:110]}")
    return "\n".join(rows + [f"    {total:7.3f} s  in {len(rows)} git process(es); "
                             f"wall clock of the whole command {wall:.3f} s"])


def import_times(args: Sequence[str], cwd: Path, env: dict[str, str], top: int = 12) -> str:
    done = subprocess.run([str(PYTHON), "-X", "importtime", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", errors="replace")
    entries = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            entries.append((int(match.group(2)), len(match.group(3)) // 2, match.group(4)))
    total = sum(cumulative for cumulative, depth, _ in entries if depth == 0)
    rows = [f"    {cum / 1000:7.1f} ms  {'  ' * depth}{name}"
            for cum, depth, name in sorted(entries, reverse=True)[:top]]
    return "\n".join([f"    {total / 1000:7.1f} ms  all imports"] + rows)


_PROFILE_NOISE = re.compile(r"<frozen |builtins\.exec\}|<string>:1\(<module>\)|"
                            r"__main__\.py|core\.py|decorators\.py|__init__\.py:1\(<module>\)")


def cprofile(args: Sequence[str], cwd: Path, env: dict[str, str], top: int = 22) -> str:
    """cProfile of one casectl process: by cumulative time (import machinery and
    Click's dispatch left out), then by own time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "prof"
        run([PYTHON, "-m", "cProfile", "-o", out, "-m", "casectl", *args], cwd, env)
        if not out.exists():  # the process left without running exit handlers
            return "    (no profile written: the command exited without interpreter teardown)"
        script = ("import pstats,sys; s=pstats.Stats(sys.argv[1]); s.strip_dirs(); "
                  "s.sort_stats('cumulative').print_stats(200); "
                  "print('@@'); s.sort_stats('tottime').print_stats(12)")
        text = run([PYTHON, "-c", script, out], cwd, env).stdout
    cumulative, _, own = text.partition("@@")
    summary = next((line.strip() for line in text.splitlines() if "function calls" in line), "")

    def rows(block: str, keep: int, drop_noise: bool) -> list[str]:
        lines = [line for line in block.splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), len(lines))
        body = [line for line in lines[start + 1:]
                if not (drop_noise and _PROFILE_NOISE.search(line))]
        return [f"    {lines[start]}" if start < len(lines) else ""] + \
            [f"    {line}" for line in body[:keep]]

    return "\n".join([f"    {summary}", "    by cumulative time:",
                      *rows(cumulative, top, True), "    by own time:", *rows(own, 12, False)])


def diagnostics(bench: Bench, missed: list[str], profile_all: bool) -> str:
    env = bench.env
    acting = bench.acting
    parts = ["## Diagnostics", "",
             "Collected by the script (one run each, so single numbers, not medians)."]
    open_ids = bench.open_cases()
    parts += ["", "`casectl log` — git processes (GIT_TRACE_PERFORMANCE=1):", "```",
              git_trace([CASECTL, "log", open_ids[0], "Fulgt opp på telefon."], env.repo,
                        acting), "```"]
    files = bench.baseline_files(1)
    path = env.baseline / files[0]
    path.write_text(path.read_text(encoding="utf-8") + "# touched\n", encoding="utf-8")
    parts += ["", "plain `git add` + `git commit` in the baseline clone (GIT_TRACE_PERFORMANCE=1):",
              "```", git_trace(["git", "add", files[0]], env.baseline, bench.plain),
              git_trace(["git", "commit", "-q", "-m", "touch"], env.baseline, bench.plain),
              "```"]
    parts += ["", "`casectl log` — imports (`python -X importtime -m casectl log ...`, "
              "cumulative):", "```",
              import_times(["-m", "casectl", "log", open_ids[1], "Fulgt opp."], env.repo,
                           acting), "```"]
    parts += ["", "`casectl log` — cProfile (cumulative):", "```",
              cprofile(["log", open_ids[2], "Fulgt opp."], env.repo, acting), "```"]
    if any("list" in name for name in missed) or profile_all:
        run([CASECTL, "list", "--limit", "1"], env.repo, acting)
        parts += ["", "`casectl list` — imports (cumulative):", "```",
                  import_times(["-m", "casectl", "list"], env.repo, acting), "```"]
        parts += ["", "`casectl list` — cProfile (cumulative):", "```",
                  cprofile(["list"], env.repo, acting), "```"]
    return "\n".join(parts)


# ---------------------------------------------------------------- main

def code_version() -> str:
    """The project's commit, and whether casectl/ differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT,
                          capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "casectl"], cwd=PROJECT,
                           capture_output=True, text=True).stdout.strip()
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    py = subprocess.run([str(PYTHON), "-c", "import sys; print(sys.version.split()[0])"],
                        capture_output=True, text=True).stdout.strip()
    gitv = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} CPU(s) ({cpu}), {platform.system()} {platform.release()}, "
            f"Python {py}, {gitv}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark casectl on a generated case repository of N cases.",
        epilog="Results go to benchmarks/results-<N>.md; the repository to "
               "benchmarks/work/<N>/ (git-ignored), reused unless --fresh.")
    parser.add_argument("--cases", type=int, default=10_000, metavar="N",
                        help="number of cases (default: %(default)s)")
    parser.add_argument("--dir", type=Path, metavar="DIR",
                        help="work directory holding repo/, baseline/ and home/ "
                             "(default: benchmarks/work/<N>)")
    parser.add_argument("--fresh", action="store_true",
                        help="generate the repository anew even if one of this size exists")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per operation, after "
                        "one warm-up (default: %(default)s)")
    parser.add_argument("--validate-runs", type=int, default=3,
                        help="timed runs of validate; 0 skips it (default: %(default)s)")
    parser.add_argument("--search", default="Unilab", metavar="WORD",
                        help="what `casectl search` looks for (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes building case files (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for the contents")
    parser.add_argument("--rebuild-index", action="store_true",
                        help="delete and rebuild the query index of a reused repository "
                        "first, timing it (as after generation)")
    parser.add_argument("--profile", action="store_true",
                        help="add diagnostics even when every target is met")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="results file (default: benchmarks/results-<N>.md)")
    args = parser.parse_args(argv)
    if args.cases < 100:
        parser.error("--cases must be at least 100")
    if args.runs < 1 or args.validate_runs < 0:
        parser.error("--runs must be at least 1 and --validate-runs at least 0")
    if not CASECTL.exists():
        parser.error(f"{CASECTL} is missing: make the virtualenv first (make test)")

    env = Env((args.dir or BENCH_DIR / "work" / str(args.cases)).resolve())
    meta_file = env.work / META_FILE
    meta: dict[str, Any] = {}
    if meta_file.exists():
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    reuse = (not args.fresh and meta.get("cases") == args.cases
             and (env.repo / "casectl.yaml").is_file())
    if reuse:
        log(f"reusing the repository in {env.repo} (generated {meta.get('generated_at')})")
        env.write_gitconfig()
    else:
        if env.repo.exists() and not meta_file.exists():
            raise SystemExit(f"{env.repo} exists but was not made by this script; "
                             "choose another --dir")
        for made in (env.repo, env.baseline, env.home):
            if made.exists():
                shutil.rmtree(made)
        meta_file.unlink(missing_ok=True)
        env.work.mkdir(parents=True, exist_ok=True)
        log(f"generating {args.cases:,} cases in {env.repo}")
        start = time.perf_counter()
        meta = generate(env, args.cases, max(1, args.jobs), args.seed)
        meta["generation_seconds"] = time.perf_counter() - start
        log(f"generation took {meta['generation_seconds']:.1f} s in all")
        meta_file.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if meta.get("stage") == "committed" or args.rebuild_index:
        log("building the query index (casectl list --limit 1)")
        meta["index_build_seconds"] = build_index(env)
        meta["index_build_code"] = code_version()
        meta["stage"] = "indexed"
        log(f"query index built in {meta['index_build_seconds']:.1f} s")
        meta_file.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if not (env.baseline / ".git").exists():
        make_baseline(env)
    baseline_split = check_baseline(env)
    repo_split = run(["git", "config", "--get", "core.splitIndex"], env.repo,
                     env.environ(agent=None), ok=(0, 1)).stdout.strip()

    start = time.perf_counter()
    run([CASECTL, "list", "--limit", "1"], env.repo, env.environ())
    catch_up = time.perf_counter() - start
    bench = Bench(env, args.runs, args.validate_runs, args.search, args.seed + int(time.time()))
    tracked = sum(1 for line in git(env.repo, bench.plain, "ls-files", "cases").splitlines()
                  if line.endswith(".yaml"))
    ops = bench.build()
    open_now = len(bench.open_cases())
    found = run([CASECTL, "search", args.search, "--format", "csv"], env.repo, bench.acting)
    hits = max(0, len(found.stdout.splitlines()) - 1)
    log(f"{tracked:,} case files, {open_now:,} open; timing {args.runs} rounds after a warm-up")
    bench.measure(ops)
    missed = judge(ops, args.cases)

    sizes = (du_mib(env.repo), du_mib(env.repo / ".git"), du_mib(env.repo / ".git" / "casectl"))
    index_file = env.repo / ".git" / "index"
    shared = sorted((env.repo / ".git").glob("sharedindex.*"))
    gen = meta
    statuses = gen.get("statuses", {})
    open_generated = sum(v for k, v in statuses.items() if k in model.OPEN_STATUSES)
    report = [
        f"# casectl benchmark: {args.cases:,} cases",
        "",
        f"Run {datetime.now().astimezone().isoformat(timespec='minutes')} on {machine()}; "
        f"casectl {code_version()}.",
        "",
        f"Repository: {tracked:,} case files ({open_now:,} open now; generated "
        f"{open_generated:,} open of {args.cases:,}: "
        + ", ".join(f"{k} {v:,}" for k, v in statuses.items())
        + f"), {sizes[0]:,.0f} MiB on disk of which .git {sizes[1]:,.0f} MiB (casectl's "
        f"query index {sizes[2]:,.0f} MiB); "
        f"index {index_file.stat().st_size / 1024:,.0f} KiB + shared index "
        f"{sum(p.stat().st_size for p in shared) / 1024:,.0f} KiB "
        f"(core.splitIndex={repo_split or 'unset'}). "
        f"`casectl search {args.search}` finds {hits:,} cases.",
        "",
        f"Generation: {gen.get('generation_seconds', float('nan')):.1f} s in all — desk set "
        f"up through the CLI {gen.get('setup_seconds', float('nan')):.1f} s, cases built and "
        f"written {gen.get('build_seconds', float('nan')):.1f} s, `git add` "
        f"{gen.get('git_add_seconds', float('nan')):.1f} s, `git commit` "
        f"{gen.get('git_commit_seconds', float('nan')):.1f} s, `git gc` "
        f"{gen.get('git_gc_seconds', float('nan')):.1f} s; then the query index built once "
        f"(`casectl list --limit 1`, casectl {gen.get('index_build_code', '?')}) in "
        f"{gen.get('index_build_seconds', float('nan')):.1f} s. Before timing, bringing the "
        f"index up to date took {catch_up:.2f} s (a full rebuild if casectl's index schema "
        "changed since).",
        "",
        f"Method: whole processes, wall clock, median and min of {args.runs} runs after one "
        f"warm-up ({args.validate_runs} for validate), operations interleaved round by round. "
        f"CASECTL_AGENT={ACTING_AGENT}, GIT_CONFIG_GLOBAL pinned, GIT_CONFIG_NOSYSTEM=1. "
        "`log` and `close` act on a different open case each run; `list` is timed with the "
        "index up to date, and once more right after an untimed `casectl log`. The baseline "
        "is `git add` + `git commit` of one changed case file in a clone of the repository "
        f"with git's defaults (core.splitIndex {baseline_split}, index rewritten without "
        "split); the row below it is the same in the case repository itself, with the split "
        "index casectl configures.",
        "",
        table(ops),
        "",
    ]
    if missed:
        report += ["Missed: " + "; ".join(missed) + ".", ""]
    else:
        report += ["Every target met.", ""]
    if missed or args.profile:
        log("collecting diagnostics")
        report += [diagnostics(bench, missed, args.profile), ""]
    notes = BENCH_DIR / f"analysis-{args.cases}.md"
    if notes.exists():
        report += [notes.read_text(encoding="utf-8").rstrip(), ""]
    text = "\n".join(report)
    output = args.output or BENCH_DIR / f"results-{args.cases}.md"
    output.write_text(text, encoding="utf-8")
    print(text)
    log(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
