"""Supply resilience: will the consumables be there for every batch of a campaign?

Pure science, no I/O: :mod:`.model` (sources, items, policies, batches in periods), :mod:`.draws`
(the random numbers, common to every option), :mod:`.kernel` and :mod:`.engine` (the Monte Carlo
simulation), :mod:`.formulas` (the analytic results it is checked against), :mod:`.recommend`
(safety stock for a target service level) and :mod:`.run` (the whole study of a plan). The plan
file is read by :mod:`fluxwise.io.supply`.
"""
