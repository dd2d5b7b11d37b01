WITH a AS (SELECT "events"."user_id" AS u, "events"."day" AS t FROM "events_user_day" AS "events" WHERE "events"."day" < CAST(CAST($1 AS TIMESTAMP) AS DATE) AND "events"."user_id" IS NOT NULL AND "events"."event" = $2), firsts AS (SELECT u, min(t) AS t0 FROM a GROUP BY u), cohort AS (SELECT u, date_trunc('day', CAST(t0 AS TIMESTAMP)) AS c FROM firsts WHERE t0 >= CAST(CAST($3 AS TIMESTAMP) AS DATE)), r AS (SELECT "events"."user_id" AS u, date_trunc('day', CAST("events"."day" AS TIMESTAMP)) AS t FROM "events_user_day" AS "events" WHERE "events"."day" >= CAST(CAST($3 AS TIMESTAMP) AS DATE) AND "events"."day" < CAST(CAST($4 AS TIMESTAMP) AS DATE) AND "events"."user_id" IS NOT NULL AND "events"."event" = $5 GROUP BY 1, 2), returned AS (SELECT h.u, h.c, date_diff('day', h.c, r.t) AS k FROM cohort AS h JOIN r ON r.u = h.u), sizes AS (SELECT c, count(*) AS n FROM cohort GROUP BY c) SELECT strftime(s.c, '%Y-%m-%d') AS cohort, s.n AS cohort_size, x.k AS period, count(x.u) AS users, (CAST(count(x.u) AS DOUBLE) / NULLIF(CAST(s.n AS DOUBLE), 0)) AS rate FROM sizes AS s JOIN returned AS x ON x.c = s.c AND x.k BETWEEN 0 AND 30 GROUP BY s.c, s.n, x.k ORDER BY s.c, x.k LIMIT 100001
-- params:
'2026-11-24 00:00:00'
'login'
'2026-10-25 00:00:00'
'2026-12-25 00:00:00'
'session_start'
