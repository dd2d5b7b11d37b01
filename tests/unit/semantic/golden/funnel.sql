WITH e AS (SELECT "events"."user_id" AS u, "events"."timestamp" AS t, (users.a_channel) AS b, ("events"."event" = $3 AND "events"."timestamp" < timezone($2, CAST($1 AS TIMESTAMP))) AS m1, ("events"."event" = $5 AND (CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END) = $6) AS m2 FROM "events" AS "events" LEFT JOIN "users" AS "users" ON (events.user_id = users.user_id) WHERE "events"."timestamp" >= timezone($2, CAST($9 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($10 AS TIMESTAMP)) AND "events"."user_id" IS NOT NULL AND (("events"."event" = $4) OR ("events"."event" = $7 AND (CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END) = $8))), s1 AS (SELECT u, min(t) FILTER (WHERE m1) AS t1, arg_min(CASE WHEN m1 THEN b END, CASE WHEN m1 THEN t END) AS b, list(t) FILTER (WHERE m2) AS l2 FROM e GROUP BY u), s2 AS (SELECT b, t1, list_min(list_filter(l2, lambda x: x > t1 AND x <= (t1 + INTERVAL 604800 SECOND))) AS t2 FROM s1 WHERE t1 IS NOT NULL) SELECT b, count(t1) AS step_1, count(t2) AS step_2, median((epoch_us(t2) - epoch_us(t1)) / 1000000.0) AS median_2 FROM s2 GROUP BY b ORDER BY step_1 DESC, b NULLS LAST LIMIT 1001
-- params:
'2026-11-08 00:00:00'
'UTC'
'install'
'install'
'pay'
'large'
'pay'
'large'
'2026-11-01 00:00:00'
'2026-11-15 00:00:00'
