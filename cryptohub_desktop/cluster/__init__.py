"""The team hub: what replaces the engine's ports when several instances share one
PostgreSQL and one Redis (SPEC section 13).

- :mod:`.redis_bus`: every update through Redis Streams, numbered team-wide.
- :mod:`.leases`: membership and provider leases in PostgreSQL (who collects what).
- :mod:`.limits`: upstream rate limits shared by the team, in Redis.
"""
