"""A faithful local Service Fabric backup server: state and rules (SF-BACKUP-API.md), served in-process
(``transport``) or over HTTP(S) (``server``). Shares no code with the client's JSON conversion."""
