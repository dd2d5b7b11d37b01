WITH cur_agg AS (SELECT date_trunc('month', make_timestamp(epoch_us("events"."timestamp"))) AS "time", sum("events"."p_amount") FILTER (WHERE (event = 'pay')) AS "revenue" FROM "events" AS "events" WHERE "events"."timestamp" >= timezone($2, CAST($1 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($3 AS TIMESTAMP)) GROUP BY 1), cur AS (SELECT "time", "revenue" FROM cur_agg), prev_agg AS (SELECT date_trunc('month', (make_timestamp(epoch_us("events"."timestamp")) + INTERVAL 12 MONTH)) AS "time", sum("events"."p_amount") FILTER (WHERE (event = 'pay')) AS "revenue" FROM "events" AS "events" WHERE "events"."timestamp" >= timezone($2, CAST($4 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($5 AS TIMESTAMP)) GROUP BY 1), prev AS (SELECT "time", "revenue" FROM prev_agg) SELECT strftime(c."time", '%Y-%m-%d') AS "time", c."revenue", p."revenue" AS "revenue_compare", (CAST(c."revenue" - p."revenue" AS DOUBLE) / NULLIF(CAST(p."revenue" AS DOUBLE), 0)) AS "revenue_change" FROM cur AS c LEFT JOIN prev AS p ON c."time" IS NOT DISTINCT FROM p."time" ORDER BY c."time" ASC NULLS LAST LIMIT 1001
-- params:
'2026-01-01 00:00:00'
'UTC'
'2027-01-01 00:00:00'
'2025-01-01 00:00:00'
'2026-01-01 00:00:00'
