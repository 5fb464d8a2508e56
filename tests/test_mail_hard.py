"""Hard mail made boring (issue 8, second part): forwarded mail makes the
original sender the reporter, and reply events keep the text without its
quoted history and signature. The parser alone on the fixtures of
tests/data/mail (written for these tests in nb, sv, da and en, as Outlook,
Gmail, Apple Mail and Thunderbird write them), then the same mail through
the real `casectl intake` on a desk, asserting on the case files."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from casectl import mailparse
from helpers import case_file, run
# The intake desk (a service identity with the receiver role) and its
# helpers are test_intake's: one set-up for all mail tests.
from test_intake import case, fixture, intake_desk, opened, repo, take  # noqa: F401

UNKNOWN_CASE = "06K3ZQ9TXM"  # a well-formed id no case has

# name, forwarder (name, address), original sender (name, address), a line
# of the forwarded message that the text must keep
FORWARDS = [
    ("fwd_outlook_nb.eml", ("Veronika Løvdalen", "post@responssenteret.example.no"),
     ("Bjørn Åsen", "bjorn.asen@bergen.kommune.no"),
     "DIPS henger ved pålogging på alle PC-ene på sykestua i Årstad."),
    ("fwd_outlook_web_da.eml", ("Mette Holm", "mette.holm@kommune.example.dk"),
     ("Søren Kjær", "soren.kjaer@kommune.example.dk"),
     "Når jeg åbner en journal, lukker Sundhedsplatformen ned."),
    ("fwd_gmail_sv.eml", ("Lisa Ek", "lisa.ek@region.example.se"),
     ("Märta Öberg", "marta.oberg@region.example.se"),
     "Läkemedelslistan för patienterna på avdelning 7 är tom sedan i morse."),
    ("fwd_apple_da.eml", ("Anne Bech", "anne.bech@kommune.example.dk"),
     ("Søren Kjær", "soren.kjaer@kommune.example.dk"),
     'Jeg kan ikke logge på Sundhedsplatformen. Fejl: "Bruger spærret".'),
    ("fwd_apple_sv.eml", ("Per Berg", "per.berg@region.example.se"),
     ("Anna Lindström", "anna.lindstrom@region.example.se"),
     "Skrivaren på avdelning 4 skriver inte ut sedan i förmiddags."),
    ("fwd_attached_en.eml", ("Emma Clark", "emma.clark@example.com"),
     ("Lars Ødegård", "lars.odegard@kommune.example.no"),
     'Since this morning I get "Access denied" when I open the lab results in Ward 5.'),
    ("fwd_encoded_nb.eml", ("Kari Berg", "kari.berg@lillehammer.kommune.example.no"),
     ("Åse Ødegård", "ase.odegard@lillehammer.kommune.example.no"),
     "skriveren på legekontoret skriver bare blanke ark. Kan IT se på den?"),
    ("html_only_fwd_gmail_nb.eml", ("Postmottak Bergen", "post@bergen.kommune.no"),
     ("Ola Nordmann", "ola.nordmann@bergen.kommune.no"),
     "nettet er nede på Åsane legekontor, ingen PC-er får kontakt."),
]

# name, the plain fixture whose case it answers, the reply's trimmed text,
# a line of the quoted history or signature the body keeps
REPLIES = [
    ("reply_quoted_gmail_nb.eml", "plain_nb.eml",
     "Takk, nå starter DIPS igjen på begge PC-ene.\n\nHilsen Ola",
     "> Vi har startet DIPS-tjenesten på nytt. Virker det nå?"),
    ("reply_outlook_sv.eml", "plain_sv.eml",
     "Hej,\n\nSkrivaren fungerar nu, tack för hjälpen!\n\nMed vänliga hälsningar\n"
     "Anna Lindström\nAvdelning 4, Region Example",
     "Skickat: den 1 december 2026 09:14"),
    ("reply_apple_da.eml", "plain_da.eml", "Tak, nu kan jeg logge på igen.",
     "Sendt fra min iPhone"),
    ("reply_signature_en.eml", "plain_en.eml",
     "Thanks, the VPN has been stable since the update.", "Phone +47 555 12 345"),
    ("html_only_reply_gmail_sv.eml", "plain_sv.eml", "Nu fungerar skrivaren igen. Tack!",
     "> Vi har bytt tonerkassett. Fungerar skrivaren nu?"),
    ("html_only_reply_outlook_nb.eml", "plain_nb.eml",
     "Det virker fortsatt ikke på PC-en ved resepsjonen.\n\nOla",
     "Sendt: tirsdag 1. desember 2026 09:14"),
]


def parsed(name: str, **fill: str) -> mailparse.Mail:
    return mailparse.parse(fixture(name, **fill))


# ---------------------------------------------------------------- the parser: forwards

@pytest.mark.parametrize("name, forwarder, original, line", FORWARDS)
def test_a_forward_names_its_original_sender(name: str, forwarder: tuple[str, str],
                                            original: tuple[str, str], line: str) -> None:
    mail = parsed(name)
    assert mail.forwarded_from == original
    assert (mail.sender_name, mail.sender_address) == forwarder  # the sender stays who sent it
    assert line in mail.body
    assert mail.reply_text == mail.body  # nothing of what is forwarded is trimmed


def test_a_forward_as_attachment_shows_the_attached_message_in_the_text() -> None:
    mail = parsed("fwd_attached_en.eml")
    assert mail.body.startswith("Please see the attached message from Lars")
    assert "---------- Forwarded message ---------\nFrom: Lars Ødegård " \
        "<lars.odegard@kommune.example.no>\n" in mail.body
    assert "Subject: Lab results: access denied" in mail.body
    assert mail.body.count("Since this morning") == 1


def test_an_attached_mail_that_is_not_forwarded_is_not_a_forward() -> None:
    # An old mail attached as evidence under a subject of one's own: the
    # sender reports it.
    raw = fixture("fwd_attached_en.eml").replace(
        b"Subject: FW: Lab results: access denied\r\nDate: Tue, 1 Dec 2026 09:44:12",
        b"Subject: The error mail I keep getting\r\nDate: Tue, 1 Dec 2026 09:44:12")
    mail = mailparse.parse(raw)
    assert mail.subject == "The error mail I keep getting"
    assert mail.forwarded_from is None


def test_a_forward_without_an_address_names_no_one() -> None:
    # Outlook writes a colleague's display name alone ("From: Smith, John").
    mail = parsed("fwd_outlook_noaddress_en.eml")
    assert mail.forwarded_from is None
    assert mail.reply_text == mail.body  # still a forward: nothing trimmed


@pytest.mark.parametrize("name", [name for name, *_ in REPLIES])
def test_a_reply_is_not_a_forward(name: str) -> None:
    # Its quoted header block ("Från: ... Skickat: ...") or "skrev:" line is history.
    assert parsed(name, CASE=UNKNOWN_CASE).forwarded_from is None


@pytest.mark.parametrize("subject, forward", [
    ("VS: DIPS", True), ("Fwd: DIPS", True), ("FW: DIPS", True), ("Vb: Skrivaren", True),
    ("WG: Drucker", True), ("[EKSTERN] VS: DIPS", True), ("[Fwd: DIPS]", True),
    ("[#06K3ZQ9TXM] Fwd: x", True),
    ("SV: VS: DIPS", False), ("Re: Fwd: DIPS", False), ("DIPS VS: Word", False),
    ("Vs. DIPS", False), ("Fwdx: y", False), ("", False),
])
def test_a_forward_subject(subject: str, forward: bool) -> None:
    assert mailparse.is_forward_subject(subject) is forward


def test_a_forward_block_below_text_counts_only_when_the_subject_says_forward() -> None:
    raw = fixture("fwd_outlook_nb.eml")
    assert mailparse.parse(raw).forwarded_from is not None
    unannounced = mailparse.parse(raw.replace(b"Subject: VS: ", b"Subject: "))
    assert unannounced.forwarded_from is None  # a pasted block under one's own text
    # ... and then it is trimmed like the quoted history of a reply.
    assert unannounced.reply_text.endswith("Hilsen Veronika\nResponssenteret")
    # Thunderbird names the message it forwards in a header of its own.
    marked = mailparse.parse(raw.replace(b"Subject: VS: ", b"X-Forwarded-Message-Id: "
                                         b"<a1@bergen.kommune.no>\r\nSubject: "))
    assert marked.forwarded_from == ("Bjørn Åsen", "bjorn.asen@bergen.kommune.no")


def test_redirects_and_auto_forwarding_are_not_forwards() -> None:
    """Resent-From (a redirect: the message as its author sent it) and
    Gmail's X-Forwarded-For/-To (an account's automatic forwarding) leave
    From as the author: From stays the reporter, nothing is forwarded from
    anyone else."""
    raw = fixture("plain_nb.eml").replace(b"MIME-Version", (
        "Resent-From: Postmottak <post@responssenteret.example.no>\r\n"
        "Resent-To: support@helse.example.no\r\n"
        "Resent-Date: Tue, 1 Dec 2026 09:31:00 +0100\r\n"
        "X-Forwarded-For: post@responssenteret.example.no support@helse.example.no\r\n"
        "X-Forwarded-To: support@helse.example.no\r\nMIME-Version").encode())
    mail = mailparse.parse(raw)
    assert mail.forwarded_from is None
    assert mail.sender_address == "ola.nordmann@bergen.kommune.no"


def test_a_forwarded_senders_name_in_any_form() -> None:
    def sender(from_line: str) -> tuple[str | None, str] | None:
        body = ("-----Original Message-----\r\n" + from_line +
                "\r\nSent: Tuesday, December 1, 2026 9:14 AM\r\nTo: IT\r\nSubject: x\r\n\r\nhi")
        raw = "From: e@example.com\r\nSubject: FW: x\r\nContent-Type: text/plain; " \
              "charset=utf-8\r\n\r\n" + body
        return mailparse.parse(raw.encode("utf-8")).forwarded_from
    assert sender("From: Smith, John [mailto:John.Smith@Example.com]") == \
        ("Smith, John", "john.smith@example.com")
    assert sender('From: "Nordmann, Ola" <ola@example.no>') == ("Nordmann, Ola", "ola@example.no")
    assert sender("From: Ola <ola@example.no<mailto:ola@example.no>>") == ("Ola", "ola@example.no")
    assert sender("From: ola@example.no") == (None, "ola@example.no")
    assert sender("*From:* Ola Nordmann <ola@example.no>") == ("Ola Nordmann", "ola@example.no")
    assert sender("From: =?utf-8?Q?Bj=C3=B8rn?= <b@example.no>") == ("Bjørn", "b@example.no")


def test_thunderbirds_forward_block_starts_with_the_subject() -> None:
    body = ("Se under.\n\n-------- Videresendt melding --------\nEmne: \tSkriver\n"
            "Dato: \tTue, 1 Dec 2026 09:14:00 +0100\nFra: \tÅse Berg <ase@x.example.no>\n"
            "Til: \tpost@x.example.no\n\nSkriveren er død.")
    assert mailparse.inline_forward(body, announced=True) == ("Åse Berg", "ase@x.example.no")
    # Unannounced, a block that is not at the top is not a forward.
    assert mailparse.inline_forward(body, announced=False) is None
    assert mailparse.inline_forward(body.split("\n\n", 1)[1], announced=False) == \
        ("Åse Berg", "ase@x.example.no")


# ---------------------------------------------------------------- the parser: trimming

@pytest.mark.parametrize("name, _plain, text, history", REPLIES)
def test_a_reply_is_trimmed_and_its_body_kept(name: str, _plain: str, text: str,
                                             history: str) -> None:
    mail = parsed(name, CASE=UNKNOWN_CASE)
    assert mail.reply_text == text
    assert mail.body.startswith(text.split("\n")[0])
    assert history in mail.body  # the body is the whole message, untouched


@pytest.mark.parametrize("text, expected", [
    # Gmail's attribution line wrapped over two lines.
    ("Det virker.\n\nOn Tue, Dec 1, 2026 at 9:14 AM Servicedesk <\nsupport@helse.example.no> "
     "wrote:\n\n> Hei", "Det virker."),
    # sv, Outlook 2010 and Thunderbird: "skrev följande:".
    ("Tack!\n\nDen 2026-12-01 09:14 skrev Servicedesk följande:\n> Hej", "Tack!"),
    # da, Gmail: "Den tir. 1. dec. 2026 kl. 09.14 skrev ...:".
    ("Tak.\n\nDen tir. 1. dec. 2026 kl. 09.14 skrev Servicedesk <support@helse.example.no>:"
     "\n> Hej", "Tak."),
    # en, Apple Mail.
    ("Thanks.\n\nOn 1 Dec 2026, at 09:14, Servicedesk <support@helse.example.no> wrote:\n\n"
     "> Hi", "Thanks."),
    # Outlook's translated markers.
    ("Ok.\n\n-----Ursprungligt meddelande-----\nFrån: a\nText", "Ok."),
    ("Ok.\n\n-----Oprindelig meddelelse-----\nFra: a", "Ok."),
    ("Ok.\n-----Original Message-----\nFrom: a", "Ok."),
    # Bottom-posting: the quote above the answer goes, the answer stays.
    ("On Tue, 1 Dec 2026 at 09:14, Servicedesk wrote:\n> Is it fixed?\n\nYes, thanks.",
     "Yes, thanks."),
    # Phone lines, each language.
    ("Ja.\n\nSkickat från min iPhone", "Ja."),
    ("Ja.\n\nSendt fra min iPad", "Ja."),
    ("Yes.\n\nSent from my Samsung Galaxy smartphone.", "Yes."),
    ("Yes.\n\nGet Outlook for iOS", "Yes."),
    # A signature after "-- " (the trailing space stripped by the parser).
    ("Hei\n\n--\nOla Nordmann\nTlf. 99 99 99 99", "Hei"),
])
def test_trimming_in_each_clients_form(text: str, expected: str) -> None:
    assert mailparse.trimmed(text) == expected


@pytest.mark.parametrize("text", [
    "Ola skrev til meg i går:\nPrinteren virker ikke.",   # "skrev ...:" with no quote after
    "Fra: lageret\nSendt: i går",                           # two labels: not a header block
    "Feilkode: 403\nDato: i dag\nBruker: kari",             # labels, but no sender
    "Vi bruker x -- y i skriptet.\n-- og så videre",        # dashes that are not a delimiter
    "Sendt fra min PC virker ikke\nHjelp",                  # not a phone's line at the end
    "Hei\n\n--\n" + "\n".join(f"linje {n}" for n in range(25)),  # too long for a signature
    "Nettet er nede.\n\nHilsen Ola",
])
def test_text_that_only_looks_like_history_is_not_trimmed(text: str) -> None:
    assert mailparse.trimmed(text) == text


@pytest.mark.parametrize("text", [
    "> all of it is quoted\n> really",
    "Sent from my iPhone",
    "-- \nOla Nordmann",
    "-----Original Message-----\nFrom: a\nSent: b\nTo: c\n\nThe whole text",
    "On Tue, 1 Dec 2026, Ola wrote:\n> hi",
])
def test_trimming_never_empties_a_text(text: str) -> None:
    assert mailparse.trimmed(text) == text


def _as_body(text: str) -> str:
    """Text as the parser makes a body: lines without trailing space, the
    whole stripped."""
    return "\n".join(line.rstrip() for line in text.replace("\r", "\n").split("\n")).strip()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + " >-:_.,\n@<>æøåäö", max_size=400))
def test_trimming_only_removes_lines_and_never_all(text: str) -> None:
    body = _as_body(text)
    result = mailparse.trimmed(body)
    if body.strip():
        assert result.strip()
    lines = iter(body.split("\n"))
    assert all(any(line == kept for line in lines) for kept in result.split("\n")), \
        "every line kept is a line of the text, in order"


_WORDS = ["Hei", "hej", "Ola", "Anna", "skrev", "wrote", "Den", "On", "fra", "från", "sendt",
          "skickat", "min", "my", "kl.", "1.", "des.", "2026", "09.14", "printeren", "virker",
          "ikke", "skrivaren", "fungerar", "inte", "journalen", "Til", "Emne", "Sent", "From",
          "Fra", "tak", "thanks", "(DIPS)", "«omstart»", "–", "!", "?"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), max_size=9).map(" ".join), min_size=1,
                max_size=12).map("\n".join))
def test_a_text_without_quote_or_signature_is_unchanged(text: str) -> None:
    body = _as_body(text)
    assert mailparse.trimmed(body) == body


# ---------------------------------------------------------------- through casectl intake

@pytest.mark.parametrize("name, forwarder, original, line", FORWARDS)
def test_a_forward_opens_a_case_for_its_original_sender(repo: Path, name: str,  # noqa: F811
                                                       forwarder: tuple[str, str],
                                                       original: tuple[str, str],
                                                       line: str) -> None:
    case_id, doc = opened(repo, name)
    assert (doc["reporter"]["name"], doc["reporter"]["email"]) == original
    description = doc["description"]
    assert description.startswith(f"Forwarded by {forwarder[0]} <{forwarder[1]}>.\n\n")
    assert line in description  # the forwarded content is the description
    assert doc["log"][0]["by"] == "intake"
    assert doc["fields"]["message-id"] == parsed(name).message_id
    assert run("--repo", str(repo), "validate").exit_code == 0


def test_a_forward_with_no_readable_sender_stays_the_forwarders(repo: Path) -> None:  # noqa: F811
    _, doc = opened(repo, "fwd_outlook_noaddress_en.eml")
    assert doc["reporter"]["email"] == "emma.clark@example.com"
    assert "Forwarded by" not in doc["description"]
    assert "The VPN drops every ten minutes." in doc["description"]


def test_a_forwarded_automatic_mail_is_reported_by_the_forwarder(repo: Path) -> None:  # noqa: F811
    raw = fixture("fwd_outlook_nb.eml").replace(b"bjorn.asen@bergen.kommune.no",
                                                b"no-reply@dips.example.no")
    assert mailparse.parse(raw).forwarded_from == ("Bjørn Åsen", "no-reply@dips.example.no")
    result = take(repo, raw)
    assert result.exit_code == 0, result.output
    doc = case(repo, result.stdout.strip())
    assert doc["reporter"]["email"] == "post@responssenteret.example.no"
    assert "Forwarded by" not in doc["description"]


def test_an_agent_forwarding_a_reporters_mail_opens_a_case_for_the_reporter(
        repo: Path) -> None:  # noqa: F811
    # An agent's own mail opens no case; a reporter's mail they forward does.
    raw = fixture("fwd_outlook_nb.eml").replace(
        b"From: Veronika =?windows-1252?Q?L=F8vdalen?= <post@responssenteret.example.no>",
        b"From: Kari Nordmann <kari@helse.example.no>")
    result = take(repo, raw)
    assert result.exit_code == 0, result.output
    doc = case(repo, result.stdout.strip())
    assert (doc["reporter"]["name"], doc["reporter"]["email"]) == \
        ("Bjørn Åsen", "bjorn.asen@bergen.kommune.no")
    assert doc["description"].startswith("Forwarded by Kari Nordmann <kari@helse.example.no>.")
    assert (doc["team"], doc["assignee"]) == ("servicedesk", None)


def test_a_forward_never_lets_its_original_sender_join_their_case(repo: Path) -> None:  # noqa: F811
    """The privacy rule goes by who sent the message, never by a "Fra:"
    line in its body, which anyone can write: a stranger's forward naming
    a case's reporter, with that case's tag, opens a new case and leaves
    the tagged one untouched."""
    case_id, _ = opened(repo, "plain_nb.eml")  # Ola's case
    before = case_file(repo, case_id).read_bytes()
    raw = fixture("fwd_outlook_nb.eml").replace(
        b"Subject: VS: DIPS", f"Subject: VS: [#{case_id}] DIPS".encode()).replace(
        b"bjorn.asen@bergen.kommune.no", b"ola.nordmann@bergen.kommune.no")
    mail = mailparse.parse(raw)
    assert mail.tags == (case_id,)
    assert mail.forwarded_from == ("Bjørn Åsen", "ola.nordmann@bergen.kommune.no")
    result = take(repo, raw)
    assert result.exit_code == 0, result.output
    new_id = result.stdout.strip()
    assert new_id != case_id
    assert case_file(repo, case_id).read_bytes() == before
    doc = case(repo, new_id)
    assert "not that case's reporter" in doc["description"]
    assert "Hei,\n\nDIPS Arena" not in doc["description"]  # nothing of Ola's case


def test_a_reporter_forwarding_into_their_case_keeps_the_reporter(repo: Path) -> None:  # noqa: F811
    # Anna forwards Märta's mail into her own case: a reply from Anna that
    # keeps all it forwards; Märta becomes nobody on Anna's case.
    case_id, _ = opened(repo, "plain_sv.eml")
    raw = fixture("fwd_gmail_sv.eml").replace(
        b"Subject: Fwd: ", f"Subject: Fwd: [#{case_id}] ".encode()).replace(
        b"From: Lisa Ek <lisa.ek@region.example.se>",
        b"From: Anna Lindstrom <anna.lindstrom@region.example.se>")
    result = take(repo, raw)
    assert result.stdout.strip() == case_id, result.output
    doc = case(repo, case_id)
    assert doc["reporter"]["email"] == "anna.lindstrom@region.example.se"
    reply = doc["log"][-1]
    assert reply["kind"] == "reply"
    assert "Från: Märta Öberg <marta.oberg@region.example.se>" in reply["data"]["text"]
    assert "Vi kan inte dela ut kvällens läkemedel utan den." in reply["data"]["text"]


@pytest.mark.parametrize("name, plain, text, history", REPLIES)
def test_a_reply_event_keeps_the_trimmed_text(repo: Path, name: str, plain: str,  # noqa: F811
                                             text: str, history: str) -> None:
    case_id, _ = opened(repo, plain)
    result = take(repo, fixture(name, CASE=case_id))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == case_id
    reply = case(repo, case_id)["log"][-1]
    assert reply["kind"] == "reply" and reply["data"]["from"] == "reporter"
    assert reply["data"]["text"] == text
    assert history not in yaml.safe_dump(reply, allow_unicode=True)
    assert run("--repo", str(repo), "validate").exit_code == 0


def test_an_agents_mail_on_a_case_is_trimmed_too(repo: Path) -> None:  # noqa: F811
    case_id, _ = opened(repo, "plain_nb.eml")
    raw = fixture("reply_quoted_gmail_nb.eml", CASE=case_id).replace(
        b"From: Ola Nordmann <ola.nordmann@bergen.kommune.no>",
        b"From: Per Hansen <per@helse.example.no>")
    assert take(repo, raw).stdout.strip() == case_id
    note = case(repo, case_id)["log"][-1]
    assert note["kind"] == "note"
    assert note["data"]["text"].endswith("\n\nTakk, nå starter DIPS igjen på begge PC-ene."
                                         "\n\nHilsen Ola")


def test_a_new_cases_description_is_the_whole_message(repo: Path) -> None:  # noqa: F811
    """A first message's quoted history and signature are context the desk
    needs (who said what before, a phone number): the description keeps them."""
    result = take(repo, fixture("reply_outlook_sv.eml", CASE=UNKNOWN_CASE))
    assert result.exit_code == 0, result.output
    description = case(repo, result.stdout.strip())["description"]
    assert "Skrivaren fungerar nu, tack för hjälpen!" in description
    assert "Från: Servicedesk <support@helse.example.no>\nSkickat: den 1 december 2026 09:14" \
        in description
    assert "Vi har bytt tonerkassett. Fungerar skrivaren nu?" in description


def test_a_redirected_message_is_its_authors(repo: Path) -> None:  # noqa: F811
    raw = fixture("plain_nb.eml").replace(b"MIME-Version", (
        "Resent-From: Postmottak <post@responssenteret.example.no>\r\n"
        "Resent-To: support@helse.example.no\r\nMIME-Version").encode())
    result = take(repo, raw)
    assert result.exit_code == 0, result.output
    doc = case(repo, result.stdout.strip())
    assert doc["reporter"]["email"] == "ola.nordmann@bergen.kommune.no"
    assert "Forwarded by" not in doc["description"]
