"""Reporting: what people and machines read about the findings.

* ``text``: a test's failure text (labelled paths, chains).
* ``hints``: fix hints, the common families of cycles and leaks told from a finding's path.
* ``summary``: the end-of-run summary, grouped by shape.
* ``results``: per-test results gathered from reports (on the xdist controller too).
* ``json_report``: the ``--gc-guard-report`` document.
* ``html``: the ``--gc-guard-html`` page, made from the JSON report's document; ``svg``: its pictures.
* ``graphs``: ``--gc-guard-graph`` DOT/SVG pictures.
* ``reporter``: the pytest plugin object that writes all of these (the only module here importing pytest).
"""
