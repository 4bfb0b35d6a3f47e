// Data-protection tests (roles, audit, retention, erasure, hostile input) live here.
