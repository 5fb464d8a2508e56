"""The application: one function per thing a user does, taking typed values
(a Reporter, a dict of fields, enums, datetimes) and returning results for
the command line to render. Nothing here knows about Click.

Rooms, by what a newcomer would look for:
- ``session``: the repository, its configuration and who is acting;
- ``actions``: changing cases (lock, load, check the rules, append, replay,
  write, commit);
- ``desk``: making a case repository and administering the desk (teams, agents);
- ``queries``: reading cases (show, list, search, history);
- ``validation``: checking case files and casectl.yaml.
"""
