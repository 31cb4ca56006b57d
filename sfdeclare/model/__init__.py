"""Values every stage shares (stdlib only): addresses (EntityRef, PolicyRef and their one parser), the
declaration, the live state, the read scope, Service Fabric's inheritance rule, and ``${env:}``/``${file:}``
references. Imports only ``sfdeclare.errors``.
"""
