SELECT formatDateTime(dd, '%Y-%m-%d', 'UTC') AS day, uniqExactIf(u, i = 0) AS dau, uniqExactIf(u, i < 7) AS wau, uniqExact(u) AS mau, (toFloat64(uniqExactIf(u, i = 0)) / nullIf(toFloat64(uniqExact(u)), 0)) AS stickiness FROM (SELECT u, arrayJoin(range(30)) AS i, addDays(d, i) AS dd FROM (SELECT DISTINCT `events`.`user_id` AS u, toStartOfDay(addSeconds(toDateTime(intDiv(`events`.`timestamp_us`, 1000000), 'UTC'), 28800), 'UTC') AS d FROM `events` AS `events` WHERE `events`.`timestamp` >= toDateTime($1, $2) AND `events`.`timestamp` < toDateTime($3, $2) AND `events`.`user_id` IS NOT NULL)) WHERE dd IN (SELECT d FROM (SELECT DISTINCT `events`.`user_id` AS u, toStartOfDay(addSeconds(toDateTime(intDiv(`events`.`timestamp_us`, 1000000), 'UTC'), 28800), 'UTC') AS d FROM `events` AS `events` WHERE `events`.`timestamp` >= toDateTime($1, $2) AND `events`.`timestamp` < toDateTime($3, $2) AND `events`.`user_id` IS NOT NULL) WHERE d >= toDateTime($4, 'UTC')) GROUP BY dd ORDER BY dd
-- params:
'2026-10-22 00:00:00'
'Asia/Shanghai'
'2026-11-24 00:00:00'
'2026-11-20 00:00:00'
