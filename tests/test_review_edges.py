"""Edges found by an adversarial review of issue 6's features, each through
the real command line with a frozen clock."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from helpers import act, git, new_case


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def sla(desk: Path, case_id: str) -> dict[str, Any]:
    return json.loads(ok(act(desk, "sla", case_id, "--format", "json")).stdout)


def test_an_org_matches_however_its_name_is_typed(desk, monkeypatch):
    # "Ås kommune" typed with Å as A + combining ring (as some keyboards,
    # macOS file names and pasted text give it), or with a double space:
    # the same organisation, so the same level, and no second entry.
    monkeypatch.setenv("CASECTL_NOW", "2026-11-30T09:00:00+01:00")
    ok(act(desk, "org", "add", "Ås kommune", "--sla", "gold", agent="admin"))
    decomposed = unicodedata.normalize("NFD", "Ås kommune")
    assert decomposed != "Ås kommune"
    for typed in (decomposed, "ÅS  KOMMUNE", " ås kommune "):
        assert sla(desk, new_case(desk, "--org", typed))["level"] == "gold", typed
    again = act(desk, "org", "add", decomposed, "--sla", "silver", agent="admin")
    assert again.exit_code == 1 and "listed already" in again.stderr
    ok(act(desk, "org", "set", "ås  kommune", "--sla", "silver", agent="admin"))
    assert json.loads(ok(act(desk, "org", "list", "--json")).stdout) == [
        {"org": "Ås kommune", "sla": "silver"}]


def test_the_reporters_view_after_a_corrected_reporter_shows_no_one_elses_details(
        desk, monkeypatch):
    # Registered under the wrong person, then corrected: the person the
    # case is about must not see the first one's name, address, phone or
    # fields in the created event of their view, in any format.
    monkeypatch.setenv("CASECTL_NOW", "2026-12-01T10:00:00+01:00")
    case_id = new_case(desk, "--reporter", "Ola Feilregistrert <ola.feil@example.no>",
                       "--phone", "+47 900 11 222", "--field", "personnr=01019912345")
    ok(act(desk, "edit", case_id, "--reporter", "Kari Riktig <kari.riktig@example.no>",
           "--phone", "+47 411 22 333", "--field", "personnr=02028854321",
           "--reason", "feil person"))
    for fmt in ("table", "json", "yaml", "csv"):
        shown = ok(act(desk, "show", case_id, "--reporter-view", "--format", fmt)).stdout
        for secret in ("Feilregistrert", "ola.feil", "900 11 222", "01019912345"):
            assert secret not in shown, (fmt, secret)
    view = json.loads(ok(act(desk, "show", case_id, "--reporter-view", "--json")).stdout)
    created = view["log"][0]["data"]
    assert created["reporter"] == view["reporter"]
    assert created["reporter"]["name"] == "Kari Riktig"
    assert created["fields"] == {"personnr": "02028854321"}
    assert created["subject"] == "DIPS starter ikke"


def test_a_config_blob_that_arrives_later_is_used_by_list_as_by_sla(desk, tmp_path, monkeypatch):
    # A case registered under a hand-edited casectl.yaml (reaction of a high
    # case: 1h) is judged in a clone that lacks that blob under the current
    # casectl.yaml (30m). When a later pull brings the blob, with the policy
    # at HEAD unchanged (the edit committed, then undone), `sla` judges the
    # case under its own blob; `list --breached` must agree.
    monkeypatch.setenv("CASECTL_NOW", "2026-12-01T09:00:00+01:00")  # Tuesday
    config = desk / "casectl.yaml"
    original = config.read_text(encoding="utf-8")
    edited = original + ("sla:\n  targets:\n    critical: {reaction: 10m, resolution: 4h}\n"
                         "    high: {reaction: 1h, resolution: 8h}\n"
                         "    medium: {reaction: null, resolution: 2d}\n"
                         "    low: {reaction: null, resolution: 5d}\n")
    config.write_text(edited, encoding="utf-8")
    case_id = new_case(desk, "--priority", "high")
    config.write_text(original, encoding="utf-8")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-local", str(desk), str(clone))
    monkeypatch.setenv("CASECTL_NOW", "2026-12-01T09:40:00+01:00")

    def breached() -> list[str]:
        rows = json.loads(ok(act(clone, "list", "--breached", "--json")).stdout)
        return [row["id"] for row in rows]
    assert sla(clone, case_id)["reaction"]["breached"] is True  # 30m, the current one
    assert breached() == [case_id]
    admin = ("-c", "user.name=Admin", "-c", "user.email=admin@example.no")
    config.write_text(edited, encoding="utf-8")
    git(desk, *admin, "commit", "-qam", "targets by hand")
    config.write_text(original, encoding="utf-8")
    git(desk, *admin, "commit", "-qam", "targets back")
    git(clone, *admin, "pull", "-q", "--ff-only")
    assert sla(clone, case_id)["reaction"]["breached"] is False  # 1h, its own blob
    assert breached() == []


def test_a_category_matches_however_its_name_is_typed(desk):
    # "Å drift" with Å typed as A + combining ring is the listed category,
    # not an unknown one the error message shows spelled the same way, nor
    # a second one to add; and "klinisk  APP" with two spaces is "Klinisk app".
    ok(act(desk, "category", "add", "Å drift", "Klinisk app", agent="admin"))
    decomposed = unicodedata.normalize("NFD", "Å drift")
    case_id = new_case(desk, "--category", decomposed)
    shown = json.loads(ok(act(desk, "show", case_id, "--json")).stdout)
    assert shown["category"] == "Å drift"
    other = new_case(desk, "--category", "klinisk  APP")
    assert json.loads(ok(act(desk, "show", other, "--json")).stdout)["category"] == "Klinisk app"
    again = act(desk, "category", "add", decomposed, agent="admin")
    assert again.exit_code == 1 and "already listed" in again.stderr


def overview_ids(desk: Path) -> list[str]:
    return [row["id"] for row in json.loads(ok(act(desk, "sla", "--json")).stdout)]


def list_ids(desk: Path, *flags: str) -> list[str]:
    return [row["id"] for row in json.loads(ok(act(desk, "list", *flags, "--json")).stdout)]


def test_a_late_reaction_is_in_the_sla_overview_as_in_list_breached_and_check(
        desk, monkeypatch):
    # A high case (reaction 30m) started after an hour: its reaction clock
    # stopped breached, its resolution clock is far from risk. `sla --check`
    # fails and `list --breached` lists it: `casectl sla` must too.
    monkeypatch.setenv("CASECTL_NOW", "2026-12-01T09:00:00+01:00")  # Tuesday
    case_id = new_case(desk, "--priority", "high")
    monkeypatch.setenv("CASECTL_NOW", "2026-12-01T10:00:00+01:00")
    ok(act(desk, "start", case_id))
    monkeypatch.setenv("CASECTL_NOW", "2026-12-01T10:30:00+01:00")
    assert sla(desk, case_id)["reaction"]["breached"] is True
    assert act(desk, "sla", "--check").exit_code == 1
    assert list_ids(desk, "--breached") == [case_id]
    assert overview_ids(desk) == [case_id]
    assert list_ids(desk, "--breached", "--at-risk") == [case_id]


def test_at_risk_starts_when_less_than_a_fifth_is_left_not_at_a_fifth(desk, monkeypatch):
    # Reaction 30m from 09:00: at 09:24 exactly 6 minutes (a fifth) are left,
    # which `casectl sla ID` calls running; a second later it is at risk.
    monkeypatch.setenv("CASECTL_NOW", "2026-12-01T09:00:00+01:00")
    case_id = new_case(desk, "--priority", "high")
    monkeypatch.setenv("CASECTL_NOW", "2026-12-01T09:24:00+01:00")
    assert "running" in ok(act(desk, "sla", case_id)).stdout.splitlines()[3]
    assert list_ids(desk, "--at-risk") == [] and overview_ids(desk) == []
    monkeypatch.setenv("CASECTL_NOW", "2026-12-01T09:24:01+01:00")
    assert "at risk" in ok(act(desk, "sla", case_id)).stdout.splitlines()[3]
    assert list_ids(desk, "--at-risk") == [case_id] and overview_ids(desk) == [case_id]
