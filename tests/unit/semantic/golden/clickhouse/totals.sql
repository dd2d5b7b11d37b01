SELECT c.`events`, c.`dau` FROM (SELECT `events`, `dau` FROM (SELECT count() AS `events`, ifNull(uniqExact(`events`.`user_id`), 0) AS `dau` FROM `events` AS `events`) AS cur_agg) AS c ORDER BY c.`events` DESC NULLS LAST LIMIT 1001 SETTINGS join_use_nulls = 1
-- params:
