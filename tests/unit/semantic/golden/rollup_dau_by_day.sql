WITH cur_agg AS (SELECT date_trunc('day', CAST("day_users"."day" AS TIMESTAMP)) AS "time", "day_users"."users" AS "dau" FROM "events_day_users" AS "day_users" WHERE "day_users"."day" >= CAST(CAST($1 AS TIMESTAMP) AS DATE) AND "day_users"."day" < CAST(CAST($2 AS TIMESTAMP) AS DATE) UNION ALL SELECT date_trunc('day', CAST("events"."day" AS TIMESTAMP)) AS "time", count(DISTINCT "events"."user_id") AS "dau" FROM "events_active_users" AS "events" WHERE "events"."day" >= CAST(CAST($3 AS TIMESTAMP) AS DATE) AND "events"."day" < CAST(CAST($4 AS TIMESTAMP) AS DATE) AND "events"."day" NOT IN (SELECT "day" FROM "events_day_users") GROUP BY 1), cur AS (SELECT "time", "dau" FROM cur_agg) SELECT strftime(c."time", '%Y-%m-%d') AS "time", c."dau" FROM cur AS c ORDER BY c."time" ASC NULLS LAST LIMIT 100001
-- params:
'2026-10-25 00:00:00'
'2026-11-24 00:00:00'
'2026-10-25 00:00:00'
'2026-11-24 00:00:00'
