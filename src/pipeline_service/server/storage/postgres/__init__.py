"""The PostgreSQL backend (extra `postgres`): `store.py` (the Storage), `schema.py` (migrations,
the change-announcing trigger), `listener.py` (LISTEN/NOTIFY change feed), `cluster.py` (a
throwaway local cluster for tests and benchmarks; it needs no psycopg)."""
