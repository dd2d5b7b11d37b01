WITH ud AS (SELECT DISTINCT "events"."user_id" AS u, date_trunc('day', make_timestamp(epoch_us("events"."timestamp"))) AS d FROM "events" AS "events" WHERE "events"."timestamp" >= timezone($2, CAST($1 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($3 AS TIMESTAMP)) AND "events"."user_id" IS NOT NULL), days AS (SELECT DISTINCT d FROM ud WHERE d >= CAST($4 AS TIMESTAMP)) SELECT strftime(days.d, '%Y-%m-%d') AS day, count(DISTINCT ud.u) FILTER (WHERE ud.d = days.d) AS dau, count(DISTINCT ud.u) FILTER (WHERE ud.d > (days.d - INTERVAL 7 DAY)) AS wau, count(DISTINCT ud.u) AS mau, (CAST(count(DISTINCT ud.u) FILTER (WHERE ud.d = days.d) AS DOUBLE) / NULLIF(CAST(count(DISTINCT ud.u) AS DOUBLE), 0)) AS stickiness FROM days JOIN ud ON ud.d > (days.d - INTERVAL 30 DAY) AND ud.d <= days.d GROUP BY days.d ORDER BY days.d
-- params:
'2026-10-22 00:00:00'
'UTC'
'2026-11-24 00:00:00'
'2026-11-20 00:00:00'
