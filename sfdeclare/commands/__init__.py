"""One module per subcommand: each registers its arguments and runs with the streams it is given, returning an
exit code. ``session`` wires configuration, cluster and engine together for the commands that read a cluster.
"""
