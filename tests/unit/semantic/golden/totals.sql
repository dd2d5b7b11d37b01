WITH cur_agg AS (SELECT count(*) AS "events", count(DISTINCT "events"."user_id") AS "dau" FROM "events" AS "events"), cur AS (SELECT "events", "dau" FROM cur_agg) SELECT c."events", c."dau" FROM cur AS c ORDER BY c."events" DESC NULLS LAST LIMIT 1001
-- params:
