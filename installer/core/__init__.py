"""The leaf layer: what every other part of the installer builds on, importing nothing of ours.

runner (the command gateway and its recording twin), chroot (in-target commands), events
(structured progress), secrets (key material in wiped memory and on tmpfs), files (writes into a
target that never follow a link out of it). storage/, the payloads, Key Vault, the steps and the
UI import these; these import only the standard library (a contract in `make test` keeps it so).
"""
