WITH e AS (SELECT "events"."user_id" AS u, "events"."timestamp" AS t, (users.a_channel) AS b, CASE WHEN "events"."event" = $3 AND "events"."timestamp" < timezone($2, CAST($1 AS TIMESTAMP)) THEN 31 WHEN "events"."event" = $4 AND (CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END) = $5 THEN 30 ELSE 0 END AS s FROM "events" AS "events" LEFT JOIN "users" AS "users" ON (events.user_id = users.user_id) WHERE "events"."timestamp" >= timezone($2, CAST($9 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($10 AS TIMESTAMP)) AND "events"."user_id" IS NOT NULL AND (("events"."event" = $6) OR ("events"."event" = $7 AND (CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END) = $8))), s1 AS (SELECT u, min((epoch_us(t) * 32 + s)) FILTER (WHERE s = 31) AS t1, arg_min(CASE WHEN s = 31 THEN b END, CASE WHEN s = 31 THEN t END) AS b, min((epoch_us(t) * 32 + s)) FILTER (WHERE s = 31) + 19353600000000 AS dl, list((epoch_us(t) * 32 + s)) FILTER (WHERE s > 0 AND s < 31) AS l FROM e GROUP BY u), s2 AS (SELECT b, basalt_funnel_chain(l, t1, dl, 2) AS c FROM s1 WHERE t1 IS NOT NULL) SELECT b, count(c[1]) AS step_1, count(c[2]) AS step_2, median((c[2] - c[1] + 1) / 32000000.0) AS median_2 FROM s2 GROUP BY b ORDER BY step_1 DESC, b NULLS LAST LIMIT 1001
-- params:
'2026-11-08 00:00:00'
'UTC'
'install'
'pay'
'large'
'install'
'pay'
'large'
'2026-11-01 00:00:00'
'2026-11-15 00:00:00'
