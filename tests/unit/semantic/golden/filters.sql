WITH cur_agg AS (SELECT "events"."os" AS "os", CAST(coalesce(sum("events"."part_events"), 0) AS BIGINT) AS "events", count("events"."user_id") FILTER (WHERE "events"."part_payers" > 0) AS "payers", count("events"."user_id") AS "dau" FROM (SELECT "events"."user_id" AS "user_id", "events"."os_name" AS "os", count(*) AS "part_events", count(*) FILTER (WHERE (event = 'pay')) AS "part_payers" FROM "events" AS "events" WHERE "events"."timestamp" >= timezone($2, CAST($1 AS TIMESTAMP)) AND "events"."timestamp" < timezone($2, CAST($3 AS TIMESTAMP)) AND "events"."event" = $4 AND "events"."event" <> $5 AND "events"."os_name" NOT IN ($6, $7) AND "events"."app_version" > $8 AND "events"."app_version" >= $9 AND "events"."app_version" < $10 AND "events"."app_version" <= $11 AND "events"."app_version" BETWEEN $12 AND $13 AND contains(CAST("events"."os_name" AS VARCHAR), $14) AND starts_with(CAST("events"."os_name" AS VARCHAR), $15) AND (CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END) IS NULL GROUP BY 1, 2) AS "events" LEFT JOIN "users" AS "users" ON (events.user_id = users.user_id) WHERE (users.a_channel) IS NOT NULL GROUP BY 1), cur AS (SELECT "os", "events", ((CAST("payers" AS DOUBLE) / NULLIF(CAST("dau" AS DOUBLE), 0))) AS "pay_rate" FROM cur_agg) SELECT c."os", c."events", c."pay_rate" FROM cur AS c WHERE c."events" > $16 AND c."pay_rate" BETWEEN $17 AND $18 ORDER BY c."os" ASC NULLS LAST LIMIT 1001
-- params:
'2026-11-18 00:00:00'
'UTC'
'2026-11-25 00:00:00'
'login'
'pay'
'x'
'y'
'1'
'1'
'9'
'9'
'1'
'9'
'O'
'i'
10
0
1
