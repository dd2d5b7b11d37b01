WITH e1 AS (SELECT "events"."user_id" AS u, "events"."timestamp" AS t, (users.a_channel) AS b FROM "events" AS "events" LEFT JOIN "users" AS "users" ON (events.user_id = users.user_id) WHERE "events"."timestamp" >= timezone($3, CAST($2 AS TIMESTAMP)) AND "events"."timestamp" < timezone($3, CAST($4 AS TIMESTAMP)) AND "events"."user_id" IS NOT NULL AND "events"."event" = $1), e2 AS (SELECT "events"."user_id" AS u, "events"."timestamp" AS t FROM "events" AS "events" WHERE "events"."timestamp" >= timezone($3, CAST($7 AS TIMESTAMP)) AND "events"."timestamp" < timezone($3, CAST($8 AS TIMESTAMP)) AND "events"."user_id" IS NOT NULL AND "events"."event" = $5 AND (CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END) = $6), s1 AS (SELECT u, min(t) AS t1, arg_min(b, t) AS b FROM e1 GROUP BY u), s2 AS (SELECT s.u, s.b, s.t1, min(e.t) AS t2 FROM s1 AS s LEFT JOIN e2 AS e ON e.u = s.u AND s.t1 IS NOT NULL AND e.t > s.t1 AND e.t <= (s.t1 + INTERVAL 604800 SECOND) GROUP BY s.u, s.b, s.t1) SELECT b, count(t1) AS step_1, count(t2) AS step_2, median((epoch_us(t2) - epoch_us(t1)) / 1000000.0) AS median_2 FROM s2 GROUP BY b ORDER BY step_1 DESC, b NULLS LAST LIMIT 1001
-- params:
'install'
'2026-11-01 00:00:00'
'UTC'
'2026-11-08 00:00:00'
'pay'
'large'
'2026-11-01 00:00:00'
'2026-11-15 00:00:00'
