"""The command line: one module per command group, each command declared once beside its
handler (cli/registry.py). `opsdeck` is `opsdeck.cli.__main__:entry` (`main()`, then the process ends)."""
