if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SET', KEYS[10], '1', 'PX', ARGV[2])
return 1
