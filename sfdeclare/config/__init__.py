"""The configuration language, both ways: YAML files -> schema check -> rule checks -> Declaration (loader),
and a live state -> configuration YAML (export, for ``sfdeclare import``). Reads files, never the network.
"""
