"""The ENT directory over LDAP (ldap3), one concern a module.

- `adapter.py`: `LdapDirectory`, the `Directory` port over LDAP (listing, search, apply)
- `connection.py`: settings, TLS, the connection pools, result codes
- `query.py`: filters built from escaped text, the search-as-you-type rule, entries
- `lookup.py`: a write round's pipelined reads (before, holders, after)
- `write.py`: the write rounds (`_WriteBatch`), their outcomes
- `wire.py`: the write path's own BER, pipelined on one connection
- `lock.py`: the directory's lock entries (one per establishment, a lease)

Other code imports `LdapDirectory` and `LdapSettings` from here; the tests reach
the submodules by name (`from directory_adapters.ldap import wire`).
"""

from directory_adapters.ldap.adapter import LdapDirectory
from directory_adapters.ldap.settings import LdapSettings

__all__ = ["LdapDirectory", "LdapSettings"]
