"""NZa machine-readable GA workbooks: read one, and write a standard's layout and rules from it.

The NZa publishes each Gegevensaanleverstandaard also as an Excel workbook
(one sheet: a block per file with its attribute table, then a block per
attribute with its direct and related validations). This package knows that
shape, and nothing of any one standard: `sheet` reads it into plain values,
`layout_toml` writes the layout a standard plugin ships, `derive` turns the
mechanical validations into rules, `command` is `disval ga import`.
"""
