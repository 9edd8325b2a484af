"""The shared-infrastructure and migration questions as plain SQL that other engines run too.

hostmap's own analyses answer these over DuckDB (with evidence attached);
these two queries ask the same over the exported tables (`hostmap export
--parquet DIR`) and use only SQL that DuckDB and Spark SQL both accept, so a
case that outgrows one machine runs them unchanged on a Spark cluster.
docs/scale.md shows both; tests run them on DuckDB and on PySpark.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS_SQL", "SHARED_ADDRESSES_SQL"]

SHARED_ADDRESSES_SQL = """
SELECT value AS address,
       COUNT(DISTINCT name) AS names,
       MIN(name) AS first_name,
       MAX(name) AS last_name,
       MIN(COALESCE(first_seen, last_seen)) AS first_seen,
       MAX(COALESCE(last_seen, first_seen)) AS last_seen
FROM resolution
WHERE rtype IN ('A', 'AAAA')
GROUP BY value
HAVING COUNT(DISTINCT name) > 1
ORDER BY names DESC, address
"""
"""Which names ever shared each address (over all time and all sources)."""

MIGRATIONS_SQL = """
WITH periods AS (
    SELECT name, rtype, value,
           MIN(COALESCE(first_seen, last_seen)) AS first_seen,
           MAX(COALESCE(last_seen, first_seen)) AS last_seen
    FROM resolution
    WHERE rtype IN ('A', 'AAAA') AND (first_seen IS NOT NULL OR last_seen IS NOT NULL)
    GROUP BY name, rtype, value
), ordered AS (
    SELECT name, value, first_seen, last_seen,
           LAG(value) OVER (PARTITION BY name, rtype ORDER BY first_seen, value) AS old_value,
           LAG(first_seen) OVER (PARTITION BY name, rtype ORDER BY first_seen, value) AS old_first,
           LAG(last_seen) OVER (PARTITION BY name, rtype ORDER BY first_seen, value) AS old_last
    FROM periods
)
SELECT name,
       old_value AS from_address,
       value AS to_address,
       CAST(first_seen AS DATE) AS moved_on
FROM ordered
WHERE old_value IS NOT NULL
  AND first_seen > old_first
  AND last_seen > old_last
  AND old_last <= first_seen + INTERVAL 7 DAY
ORDER BY name, moved_on
"""
"""Names that moved from one address to the next, dated by the new address's first sighting
(the same rule as `hostmap.analyze.migrations`, whose HANDOVER is the 7 days here)."""
