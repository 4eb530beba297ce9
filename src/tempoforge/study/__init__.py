"""``tempoforge study METHOD``: a method's ablation table on TempoWorld, with controls and intervals.

- ``core.py``    the protocol every study follows (arms x seeds, resumable, ``study.json`` / ``details.json``)
- ``stats.py``   cluster-bootstrap intervals over held-out videos, paired differences
- ``report.py``  ``study.html``
- ``temple.py``  TEMPLE: the balanced arrow-of-time probe, progressive DPO vs its ablations and controls
- ``commands.py`` the CLI

Studies are measurements, not tests: the suite runs each on its seconds-long ``smoke`` preset.
"""
