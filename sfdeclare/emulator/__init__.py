"""A faithful local Service Fabric backup server (SF-BACKUP-API.md), in-process or over HTTP(S).

Modules: ``topology`` (the cluster file) and ``storage_topology`` (its storage section), ``state`` (SQLite
state shared by processes), ``runtimes`` (the runtimes and the one table of what each accepts), ``policies``,
``policy_fields`` (the 11.3 fields), ``durations`` and ``run_times`` (policy binding and normalisation),
``storage_check`` (ValidateConnection), ``entities`` (ids -> keys), ``rules`` (the backup service's operations),
``queries`` (cluster queries), ``app`` (request -> response), ``transport`` (``emulator:PATH``), ``server``
(threaded HTTP/1.1, TLS, faults, chaos). Backups: ``clock``, ``schedule`` (due times as arithmetic),
``storage`` (storage identity), ``backup_tables`` (their tables), ``runs`` (stored backups as arithmetic),
``backups`` (arming and taking periodic backups), ``retention``, ``listing`` (GetBackups), ``operations``
(on-demand backup and restore), ``health``, ``timeline`` (moving the clock) and ``backup_routes``. It shares no
code with the client's JSON conversion.

Where the 6.4 server was buggy or the sources are silent, the emulator follows the documented intent:
- GetBackupConfigurationInfo resolves a child's policy and suspension partition > service > application
  (6.4 took a suspended child's policy from the application only, or failed with 500); an item that is
  suspended but has no effective policy is reported with ``PolicyName: null, PolicyInheritedFrom: Invalid``.
- Paging is correct and deterministic (sorted by key, opaque tokens, null token on the last page of the
  backup routes, ``""`` on the gateway queries as Service Fabric answers).
- ``fabric:/app`` does not match ``fabric:/app2`` (no ``StartsWith`` prefix quirk).
- Intervals that normalise to zero (``PT30S``) and negative durations are rejected.
- A non-GUID partition id is a 400 ``E_INVALIDARG`` (6.4 answered 500); so is a bad ``timeout``.
- ``"RetentionPolicy": null`` counts as absent.
- Assumed where no public source settles it: the wire form of the 11.3 fields (``policy_fields``), what
  ValidateConnection checks and its error code (``storage_check``), and that a RunTime without an offset is UTC
  (the server takes its local time).
- Runtime 6.2 (a 6.2/6.3 cluster): backup routes accept exactly ``api-version=6.2-preview`` (a 6.4 version is
  unknown to such a cluster -> 400 "Invalid API Version"), a body with RetentionPolicy is a 400, policy reads
  carry no RetentionPolicy, and a DisableBackup request with a body is a 400 (strict on purpose, so a client's
  6.2-preview mode is proven to send none). Gateway query routes accept any ``X.Y`` or ``X.Y-preview``.
- Backups (docs/emulator.md "Backups on a clock"): the first backup after a partition is armed falls at the first
  schedule time after it (no immediate "missed backup"); retention runs whenever the clock moves; CleanBackup
  deletes at once; on-demand backups and restores take 10 s / 30 s of emulator time; a 415 for a body without a
  JSON Content-Type carries a FabricError body (Web API's own error form is not modelled).
- Unknown paths answer 404 ``FABRIC_E_INVALID_ADDRESS``; a known path with the wrong method 405; bodies over
  1 MiB 413; malformed HTTP 400/414/431 -- always as a FabricError body.
"""
