#!/usr/bin/env bash
# make demo: a case's life on a throwaway case repository (demo-desk/, git-ignored).
# A caller phones the desk; the agent registers the case on their behalf, works it,
# asks the access team for a task, the next shift takes it over and hands it to
# the clinical applications team, and it is closed with a solution; its SLA clock
# is shown on the way. Then: the case list, the case, and git log of its file.
set -euo pipefail
cd "$(dirname "$0")/.."
DESK=${CASECTL_DEMO_DIR:-demo-desk}  # the tests point it elsewhere
rm -rf "$DESK"

# The demo must not depend on (or touch) the user's git configuration.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
# A fixed working Tuesday, so the SLA clocks and ages print the same every day.
day=2026-11-24
at() { export CASECTL_NOW="${day}T$1+01:00"; }   # the desk's clock for each step
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {  # show the command as it would be typed, then run it
    local shown='$ casectl' arg
    for arg in "$@"; do
        case $arg in *[[:space:]\"]*) shown+=" \"${arg//\"/\\\"}\"" ;; *) shown+=" $arg" ;; esac
    done
    printf '%s\n' "$shown"
    casectl "$@"
}

step "A new case repository for the desk"
at 07:55:00
run init "$DESK" --desk "Helse Nord IKT - Servicedesk" --timezone Europe/Oslo --country NO
cd "$DESK"
run team add servicedesk --name "Servicedesk" --email servicedesk@helse-nord.example.no
run team add klinisk-app --name "Kliniske applikasjoner" --email klinapp@helse-nord.example.no
run team add tilgang --name "Tilgangsstyring" --email tilgang@helse-nord.example.no
run agent add kari --name "Kari Nordmann" --email kari.nordmann@helse-nord.example.no \
    --team servicedesk --role receiver --role handler
export CASECTL_AGENT=kari
run agent add ingrid --name "Ingrid Solberg" --email ingrid.solberg@helse-nord.example.no \
    --team servicedesk --role handler
run agent add mette --name "Mette Johansen" --email mette.johansen@helse-nord.example.no \
    --team klinisk-app --role handler
run agent add ola --name "Ola Berg" --email ola.berg@helse-nord.example.no \
    --team tilgang --role handler
run agent add intake --service --name "E-post inn" --email servicedesk@helse-nord.example.no \
    --team servicedesk --role receiver
run agent add ase --name "Åse Lund" --email ase.lund@helse-nord.example.no \
    --role admin --role permission-admin
echo "(from this commit on, roles bind: Åse administers the desk, the others work cases)"

step "Mail: the desk's address, intake's identity, and Kari's signature under the mail she sends"
# No SMTP server here: the mail casectl queues waits in the outbox
# (.git/casectl/outbox), and 'casectl outbox send' would deliver it.
python - <<'PY'
import yaml
with open("casectl.yaml", encoding="utf-8") as handle:
    config = yaml.safe_load(handle)
config["mail"] = {"address": "servicedesk@helse-nord.example.no",
                  "name": "Helse Nord IKT - Servicedesk",
                  "intake": {"agent": "intake"}}
config["agents"]["kari"]["signature"] = (
    "Kari Nordmann\nServicedesk, Helse Nord IKT\nTlf. 77 00 00 00")
with open("casectl.yaml", "w", encoding="utf-8") as handle:
    yaml.safe_dump(config, handle, allow_unicode=True, sort_keys=False)
PY
git -c user.name="Åse Lund" -c user.email=ase.lund@helse-nord.example.no \
    commit -q -m "Mail: the desk's address, intake's identity and Kari's signature" casectl.yaml
echo "mail: address servicedesk@helse-nord.example.no; intake.agent intake; agents.kari.signature set"

step "08:40 A nurse phones in; Kari registers the case on her behalf"
at 08:40:12
id=$(casectl new --subject "DIPS Arena: får ikke åpnet pasientjournal" \
    --description "Sykepleier på kirurgisk post 3 får feilmelding «Ingen tilgang til journal» når hun åpner pasientjournaler i DIPS Arena. Gjelder alle pasienter, fra PC-en på vaktrommet og fra en annen PC. Kollegaer på samme post har ikke problemet." \
    --type incident --category "Klinisk applikasjon" \
    --reporter "Sigrid Bakken <sigrid.bakken@tromso.kommune.example.no>" --phone "+47 917 22 418" \
    --org "Tromsø kommune" --field epj=EPJ-48213 --field kommune=Tromsø --notify)
echo "$ casectl new --subject \"DIPS Arena: får ikke åpnet pasientjournal\" ... -> $id"

step "08:40 --notify: the reporter's notification waits in the outbox, its Message-ID in the case"
run outbox list

step "08:41 Kari raises it to high, starts work and logs what she did"
at 08:41:20
run priority "$id" high --reason "Sykepleieren står uten journaltilgang midt i vakten"
at 08:42:30
run start "$id"
at 08:51:05
run log "$id" "Ringte brukeren tilbake. Feilen gjelder kun hennes bruker; tilgangsgruppen for kirurgisk post 3 mangler i AD etter flytting fra medisinsk post."
at 08:53:40
run log "$id" --internal "Flyttingen ble registrert uten tilgangsbestilling. Sjekk om flere fra medisinsk post er rammet."

step "09:10 Kari gives the AD part to the access team as a task; she stays responsible"
at 09:10:00
run task add "$id" --to tilgang --subject "Legg brukeren i AD-gruppen for kirurgisk post 3" \
    --need "Brukernavn sigbak, flyttet fra medisinsk post 1. november"
at 10:20:00
CASECTL_AGENT=ola run task list --assignee me --open
CASECTL_AGENT=ola run task done "$id" T1 --note "Lagt til i AD-gruppen KIR-POST3-SPL"

step "11:05 A case arrives by mail: the mail server pipes the message to casectl intake"
at 11:05:00
echo '$ casectl intake --mda - < message.eml    # as Postfix runs it; acts as mail.intake.agent'
mail_id=$(env -u CASECTL_AGENT casectl intake --mda - <<'MAIL'
From: =?utf-8?q?Per_H=C3=A5gensen?= <per.hagensen@hammerfest.kommune.example.no>
To: servicedesk@helse-nord.example.no
Subject: =?utf-8?q?Skriveren_p=C3=A5_legekontoret_skriver_bare_blanke_ark?=
Message-ID: <20261124110412.4711@hammerfest.kommune.example.no>
Date: Tue, 24 Nov 2026 11:04:12 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hei,

skriveren på legekontoret (HP, 2. etasje) skriver bare blanke ark siden i
morges. Vi har byttet toner uten at det hjalp.

Hilsen Per Hågensen
Hammerfest legekontor
MAIL
)
echo "$mail_id"
run show "$mail_id"

step "11:05 Its notification to Per waits in the outbox, threaded under his mail"
run outbox list

step "15:05 The next shift's agent, Ingrid, takes the case over"
at 15:05:00
CASECTL_AGENT=ingrid run take "$id" --note "Overtatt ved vaktskifte"

step "15:20 Ingrid hands it to the clinical applications team in person"
at 15:20:00
CASECTL_AGENT=ingrid run handover "$id" --to klinisk-app \
    --note "Overlevert Mette Johansen per telefon: tilgangsrollen i DIPS må knyttes til ny post. Brukeren er varslet."

step "15:22 Ola, in the access team, may not work the case now that it is not his"
at 15:22:00
CASECTL_AGENT=ola run log "$id" "Ser på saken" || echo "(exit $?: refused, nothing was committed)"

step "15:25 The SLA clock: reaction met; 8 working hours from 08:40 fall due tomorrow at 10:10"
at 15:25:00
run sla "$id"

step "16:10 Mette solves it; the nurse confirms it works; the case is closed"
at 16:02:00
CASECTL_AGENT=mette run take "$id"
at 16:10:00
CASECTL_AGENT=mette run log "$id" --email "Hei Sigrid, du har nå fått tilgang via rollen for kirurgisk post 3. Gi beskjed om noe fortsatt ikke virker."
at 16:31:00
CASECTL_AGENT=mette run close "$id" --confirmed \
    --solution "Tilgangsrollen «Kirurgisk post 3 - sykepleier» lagt til i DIPS Arena og AD-gruppen oppdatert. Brukeren bekreftet på telefon at journalene åpnes."

step "A second case, still open, so the list has something in it"
at 16:45:00
run new --subject "Skriver på medisinsk post skriver ut blanke ark" --type incident \
    --priority low --reporter "Lars Eriksen <lars.eriksen@helse-nord.example.no>" >/dev/null
echo "(registered)"

step "The open cases, and every case"
run list
run list --all

step "The case"
run show "$id"

step "Its history: every event and the commit that recorded it"
run history "$id"

step "git log of the case file: one commit per action, with trailers"
echo "$ git log --format=... -- $(git ls-files "cases/*/$id.yaml")"
git log --reverse --format='%h %ad %an%n    %s%n%(trailers:separator=%x2C )%n' --date=format:%H:%M \
    -- "cases/*/$id.yaml"

step "Validation of every case file"
run validate

step "The outbox: what the day's actions mailed (two notifications, task, e-mail, solution), waiting for 'casectl outbox send'"
run outbox list
echo
echo "The demo repository is in $DESK (git-ignored); look around with git log, git show, casectl."
