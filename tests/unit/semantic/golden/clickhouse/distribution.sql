SELECT CASE WHEN v < $4 THEN 0 WHEN v < $5 THEN 1 ELSE 2 END AS bucket, count(*) AS users, min(v) AS min_value, max(v) AS max_value FROM (SELECT `events`.`user_id` AS u, if(countIf(isNotNull(`events`.`p_amount`) AND ifNull((event = 'pay'), 0)) = 0, NULL, sumIf(`events`.`p_amount`, ifNull((event = 'pay'), 0))) AS v FROM `events` AS `events` WHERE `events`.`timestamp` >= toDateTime($1, $2) AND `events`.`timestamp` < toDateTime($3, $2) AND `events`.`user_id` IS NOT NULL GROUP BY `events`.`user_id` HAVING v IS NOT NULL AND countIf(ifNull((event = 'pay'), 0)) > 0) AS per_user GROUP BY `bucket` ORDER BY 1 SETTINGS join_use_nulls = 1
-- params:
'2026-11-23 00:00:00'
'Asia/Shanghai'
'2026-11-24 00:00:00'
1.000000
10.000000
