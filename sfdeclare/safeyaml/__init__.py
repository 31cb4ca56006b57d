"""The hardened YAML reader (no tags, no duplicate keys, bounded size and aliases, YAML 1.2 scalars, line
marks), shared by the configuration loader and the emulator's topology files. Imports only ``errors``.
"""
