if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('SISMEMBER', KEYS[2], ARGV[4]) == 1 then return -2 end
local d = redis.call('HGET', KEYS[5], ARGV[4])
if d and tonumber(d) <= tonumber(ARGV[5]) then return -3 end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  if tonumber(redis.call('HGET', KEYS[4], ARGV[4]) or '0') >= tonumber(ARGV[3]) then return 0 end
  redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('PEXPIRE', KEYS[4], ttl)
return 1
