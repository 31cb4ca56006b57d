"""The backup REST protocol as pure code: request builders (routes), reply parsers (replies), FabricError
codes, durations and run times as the server normalises them, and the server's normal form of a policy.
No I/O. Imports only ``errors`` and ``model``; the emulator keeps its own copy of these facts on purpose.
"""
