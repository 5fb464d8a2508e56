"""Realistic Nordic healthcare service-desk data, for the benchmark
(benchmarks/bench.py) and the example builder (tools/make_examples.py).

- ``desk``: the desk's teams and agents, and the casectl commands that make it;
- ``words``: per language (no, sv, da), the systems, organisations, people
  and sentences cases are made of;
- ``cases``: seeded random drafts (what `casectl new` is given) and plans
  (a draft and its events up to a status); no casectl needed;
- ``files``: a plan as a case file, through casectl's own functions.

Not part of the casectl package: it ships to users, this is the project's tooling.
"""
