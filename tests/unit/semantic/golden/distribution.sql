WITH per_user AS (SELECT "events"."user_id" AS u, sum("events"."p_amount") FILTER (WHERE (event = 'pay')) AS v FROM "events" AS "events" WHERE "events"."timestamp" >= timezone($2, CAST($1 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($3 AS TIMESTAMP)) AND "events"."user_id" IS NOT NULL GROUP BY "events"."user_id" HAVING v IS NOT NULL AND count(*) FILTER (WHERE (event = 'pay')) > 0) SELECT CASE WHEN v < $4 THEN 0 WHEN v < $5 THEN 1 ELSE 2 END AS bucket, count(*) AS users, min(v) AS min_value, max(v) AS max_value FROM per_user GROUP BY 1 ORDER BY 1
-- params:
'2026-11-23 00:00:00'
'UTC'
'2026-11-24 00:00:00'
1.000000
10.000000
