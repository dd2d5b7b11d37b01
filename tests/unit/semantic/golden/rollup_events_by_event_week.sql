WITH cur_agg AS (SELECT date_trunc('week', CAST("events"."day" AS TIMESTAMP)) AS "time", "events"."event" AS "event", CAST(coalesce(sum("events"."events"), 0) AS BIGINT) AS "events", count(DISTINCT "events"."user_id") FILTER (WHERE (event = 'pay')) AS "payers" FROM "events_user_day" AS "events" WHERE "events"."day" >= CAST(CAST($1 AS TIMESTAMP) AS DATE) AND "events"."day" < CAST(CAST($2 AS TIMESTAMP) AS DATE) AND "events"."event" IN ($3, $4) GROUP BY 1, 2), cur AS (SELECT "time", "event", "events", "payers" FROM cur_agg) SELECT strftime(c."time", '%Y-%m-%d') AS "time", c."event", c."events", c."payers" FROM cur AS c ORDER BY c."time" ASC NULLS LAST, c."event" ASC NULLS LAST LIMIT 100001
-- params:
'2026-10-26 00:00:00'
'2026-11-23 00:00:00'
'login'
'pay'
