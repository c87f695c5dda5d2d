"""Subcommands of `echo-cxr`.

Each module defines `register(subparsers)`, which adds its parser and sets
`func` to a handler taking the parsed namespace and returning an exit status.
The CLI imports a module only when listed in `COMMAND_MODULES`, and a module
imports heavy libraries (torch, pydicom) inside its handler, so `--help` stays fast.
"""

COMMAND_MODULES = [
    "app.commands.generate",
    "app.commands.batch",
    "app.commands.bench",
    "app.commands.inspect",
    "app.commands.reports",
    "app.commands.data",
    "app.commands.evaluate",
    "app.commands.train",
    "app.commands.tokenizer",
]
