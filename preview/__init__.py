"""Contract-change preview: what a proposed lead contract would change, before adoption.

`python -m preview --contract DIR [--from DATE]` validates the proposal, builds the
contract-dependent models twice in a scratch copy of the warehouse (the proposal from
`--from` on, and restating all history) and writes a report comparing both with the
working marts. It never writes the working warehouse or the publication
(docs/contract-changes.md).
"""
