SELECT b, count(t1) AS step_1, count(t2) AS step_2, if(length(arraySort(groupArray(toFloat64(((t2) - (t1)) / 1000000.0)))) = 0, NULL, arrayElement(arraySort(groupArray(toFloat64(((t2) - (t1)) / 1000000.0))), toUInt64(floor((0.5 * (length(arraySort(groupArray(toFloat64(((t2) - (t1)) / 1000000.0)))) - 1)))) + 1) + ((0.5 * (length(arraySort(groupArray(toFloat64(((t2) - (t1)) / 1000000.0)))) - 1)) - floor((0.5 * (length(arraySort(groupArray(toFloat64(((t2) - (t1)) / 1000000.0)))) - 1)))) * (arrayElement(arraySort(groupArray(toFloat64(((t2) - (t1)) / 1000000.0))), toUInt64(floor((0.5 * (length(arraySort(groupArray(toFloat64(((t2) - (t1)) / 1000000.0)))) - 1)))) + 2) - arrayElement(arraySort(groupArray(toFloat64(((t2) - (t1)) / 1000000.0))), toUInt64(floor((0.5 * (length(arraySort(groupArray(toFloat64(((t2) - (t1)) / 1000000.0)))) - 1)))) + 1))) AS median_2 FROM (SELECT b, t1, if(isNull(t1) OR isNull((t1 + 604800000000)) OR length(arrayFilter(x -> x > ifNull(t1, 0) AND x <= ifNull((t1 + 604800000000), 0), l2)) = 0, NULL, arrayReduce('min', arrayFilter(x -> x > ifNull(t1, 0) AND x <= ifNull((t1 + 604800000000), 0), l2))) AS t2 FROM (SELECT u, if(countIf(isNotNull(t) AND ifNull(m1, 0)) = 0, NULL, minIf(t, ifNull(m1, 0))) AS t1, argMin(CASE WHEN m1 THEN b END, CASE WHEN m1 THEN t END) AS b, groupArrayIf(t, ifNull(m2, 0)) AS l2 FROM (SELECT `events`.`user_id` AS u, `events`.`timestamp_us` AS t, (users.a_channel) AS b, (nullIf(`events`.`event`, '') = $3 AND `events`.`timestamp_us` < (toInt64(toUnixTimestamp(toDateTime($1, $2))) * 1000000)) AS m1, (nullIf(`events`.`event`, '') = $5 AND (CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END) = $6) AS m2 FROM `events` AS `events` LEFT JOIN (SELECT `user_id`, `a_channel` FROM `users` FINAL) AS `users` ON (events.user_id = users.user_id) WHERE `events`.`timestamp` >= toDateTime($9, $2) AND `events`.`timestamp` < toDateTime($10, $2) AND `events`.`user_id` IS NOT NULL AND ((nullIf(`events`.`event`, '') = $4) OR (nullIf(`events`.`event`, '') = $7 AND (CASE WHEN p_amount < 6 THEN 'small' ELSE 'large' END) = $8))) AS e GROUP BY u) AS s1 WHERE t1 IS NOT NULL) AS s2 GROUP BY b ORDER BY step_1 DESC, b NULLS LAST LIMIT 1001 SETTINGS join_use_nulls = 1
-- params:
'2026-11-08 00:00:00'
'Asia/Shanghai'
'install'
'install'
'pay'
'large'
'pay'
'large'
'2026-11-01 00:00:00'
'2026-11-15 00:00:00'
