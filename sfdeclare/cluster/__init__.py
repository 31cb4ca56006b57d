"""The network edge: the only package that talks to a cluster. Endpoint parsing, TLS, transport (kept-alive
connections), retries, the REST client and the parallel read of a live state. Knows no decision code:
imports only ``errors``, ``model`` and ``servicefabric``.
"""
