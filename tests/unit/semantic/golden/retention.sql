WITH a AS (SELECT "events"."user_id" AS u, "events"."timestamp" AS t FROM "events" AS "events" WHERE "events"."timestamp" < timezone($2, CAST($1 AS TIMESTAMP)) AND "events"."user_id" IS NOT NULL AND "events"."event" = $3), firsts AS (SELECT u, min(t) AS t0 FROM a GROUP BY u), cohort AS (SELECT u, date_trunc('week', make_timestamp(epoch_us(t0))) AS c FROM firsts WHERE t0 >= timezone($2, CAST($4 AS TIMESTAMP))), r AS (SELECT "events"."user_id" AS u, date_trunc('week', make_timestamp(epoch_us("events"."timestamp"))) AS t FROM "events" AS "events" WHERE "events"."timestamp" >= timezone($2, CAST($4 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($5 AS TIMESTAMP)) AND "events"."user_id" IS NOT NULL AND "events"."event" = $6 GROUP BY 1, 2), returned AS (SELECT h.u, h.c, date_diff('week', h.c, r.t) AS k FROM cohort AS h JOIN r ON r.u = h.u), sizes AS (SELECT c, count(*) AS n FROM cohort GROUP BY c) SELECT strftime(s.c, '%Y-%m-%d') AS cohort, s.n AS cohort_size, x.k AS period, count(x.u) AS users, (CAST(count(x.u) AS DOUBLE) / NULLIF(CAST(s.n AS DOUBLE), 0)) AS rate FROM sizes AS s JOIN returned AS x ON x.c = s.c AND x.k BETWEEN 0 AND 4 GROUP BY s.c, s.n, x.k ORDER BY s.c, x.k LIMIT 1001
-- params:
'2026-12-01 00:00:00'
'UTC'
'install'
'2026-11-01 00:00:00'
'2027-01-05 00:00:00'
'login'
