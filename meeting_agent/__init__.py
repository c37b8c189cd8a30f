"""meeting-agent: meeting recordings in, speaker-labelled transcripts and minutes out.

The packages form layers, and each imports only those below it (README, "The layers";
`[tool.importlinter]` in pyproject.toml, checked in CI):

    cli > api | jobs > bootstrap                        composition
    adapters | auth > config                            infrastructure, settings
    service > exports > minutes                         use cases
    telemetry | attempts | deadlines | config_providers cross-cutting
    ports > domain > text > errors
"""

__version__ = "0.1.0"
