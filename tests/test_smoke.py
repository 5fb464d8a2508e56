from helpers import act, case_file, git, load_case, new_case


def test_lifecycle_commits_one_action_each(desk):
    case_id = new_case(desk, "--reporter", "Ola Nordmann <ola@bergen.kommune.no>")
    assert act(desk, "start", case_id).exit_code == 0
    assert act(desk, "log", case_id, "Ringte brukar: æøå ÆØÅ äö ÄÖ").exit_code == 0
    assert act(desk, "close", case_id, "--solution", "Ny klient installert",
               "--confirmed").exit_code == 0
    case = load_case(desk, case_id)
    assert case["status"] == "closed"
    assert [e["kind"] for e in case["log"]] == ["created", "status_changed", "worklog", "closed"]
    subjects = git(desk, "log", "--format=%s", "--", str(case_file(desk, case_id))).splitlines()
    assert subjects == [f"{case_id} close: DIPS starter ikke", f"{case_id} log: DIPS starter ikke",
                        f"{case_id} start: DIPS starter ikke", f"{case_id} new: DIPS starter ikke"]
