SELECT c.`os`, c.`events`, c.`pay_rate` FROM (SELECT `os`, `events`, ((toFloat64(`payers`) / nullIf(toFloat64(`dau`), 0))) AS `pay_rate` FROM (SELECT `events`.`os` AS `os`, toInt64(ifNull(sum(`events`.`part_events`), 0)) AS `events`, countIf(isNotNull(`events`.`user_id`) AND ifNull(`events`.`part_payers` > 0, 0)) AS `payers`, count(`events`.`user_id`) AS `dau` FROM (SELECT `events`.`user_id` AS `user_id`, `events`.`os_name` AS `os`, count() AS `part_events`, countIf(ifNull((event = 'pay'), 0)) AS `part_payers` FROM `events` AS `events` WHERE `events`.`timestamp` >= toDateTime($1, $2) AND `events`.`timestamp` < toDateTime($3, $2) AND nullIf(`events`.`event`, '') = $4 AND nullIf(`events`.`event`, '') <> $5 AND (isNotNull(`events`.`os_name`) AND `events`.`os_name` NOT IN ($6, $7)) AND `events`.`app_version` > $8 AND `events`.`app_version` >= $9 AND `events`.`app_version` < $10 AND `events`.`app_version` <= $11 AND `events`.`app_version` BETWEEN $12 AND $13 AND (position(toString(`events`.`os_name`), $14) > 0) AND startsWith(toString(`events`.`os_name`), $15) AND (CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END) IS NULL GROUP BY `user_id`, `os`) AS `events` LEFT JOIN (SELECT `user_id`, `a_channel` FROM `users` FINAL) AS `users` ON (events.user_id = users.user_id) WHERE (users.a_channel) IS NOT NULL GROUP BY `os`) AS cur_agg) AS c WHERE c.`events` > $16 AND c.`pay_rate` BETWEEN $17 AND $18 ORDER BY c.`os` ASC NULLS LAST LIMIT 1001 SETTINGS join_use_nulls = 1
-- params:
'2026-11-18 00:00:00'
'Asia/Shanghai'
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
