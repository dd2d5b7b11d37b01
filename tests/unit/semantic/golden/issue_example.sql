WITH cur_agg AS (SELECT date_trunc('day', make_timestamp(epoch_us("events"."timestamp"))) AS "time", (users.a_channel) AS "channel", count(DISTINCT "events"."user_id") AS "dau", sum("events"."p_amount") FILTER (WHERE (event = 'pay')) AS "revenue" FROM "events" AS "events" LEFT JOIN "users" AS "users" ON (events.user_id = users.user_id) WHERE "events"."timestamp" >= timezone($2, CAST($1 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($3 AS TIMESTAMP)) AND "events"."event" IN ($4, $5) GROUP BY 1, 2), cur AS (SELECT "time", "channel", "dau", "revenue", ((CAST("revenue" AS DOUBLE) / NULLIF(CAST("dau" AS DOUBLE), 0))) AS "arpu" FROM cur_agg), prev_agg AS (SELECT date_trunc('day', (make_timestamp(epoch_us("events"."timestamp")) + INTERVAL 1 MONTH)) AS "time", (users.a_channel) AS "channel", count(DISTINCT "events"."user_id") AS "dau", sum("events"."p_amount") FILTER (WHERE (event = 'pay')) AS "revenue" FROM "events" AS "events" LEFT JOIN "users" AS "users" ON (events.user_id = users.user_id) WHERE "events"."timestamp" >= timezone($2, CAST($6 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($7 AS TIMESTAMP)) AND "events"."event" IN ($8, $9) GROUP BY 1, 2), prev AS (SELECT "time", "channel", "dau", "revenue", ((CAST("revenue" AS DOUBLE) / NULLIF(CAST("dau" AS DOUBLE), 0))) AS "arpu" FROM prev_agg) SELECT strftime(c."time", '%Y-%m-%d') AS "time", c."channel", c."dau", c."revenue", c."arpu", p."dau" AS "dau_compare", p."revenue" AS "revenue_compare", p."arpu" AS "arpu_compare", (CAST(c."dau" - p."dau" AS DOUBLE) / NULLIF(CAST(p."dau" AS DOUBLE), 0)) AS "dau_change", (CAST(c."revenue" - p."revenue" AS DOUBLE) / NULLIF(CAST(p."revenue" AS DOUBLE), 0)) AS "revenue_change", (CAST(c."arpu" - p."arpu" AS DOUBLE) / NULLIF(CAST(p."arpu" AS DOUBLE), 0)) AS "arpu_change" FROM cur AS c LEFT JOIN prev AS p ON c."time" IS NOT DISTINCT FROM p."time" AND c."channel" IS NOT DISTINCT FROM p."channel" ORDER BY c."revenue" DESC NULLS LAST LIMIT 100
-- params:
'2026-10-01 00:00:00'
'UTC'
'2026-11-01 00:00:00'
'login'
'pay'
'2026-09-01 00:00:00'
'2026-10-01 00:00:00'
'login'
'pay'
