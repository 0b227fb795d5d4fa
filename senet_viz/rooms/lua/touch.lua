if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local act = ARGV[3]
if act == 'move' then
  redis.call('HSET', KEYS[2], 'step', ARGV[4], 'picture', ARGV[5], 'other', ARGV[6], 'block', ARGV[7], 'question', ARGV[10], 'model', ARGV[11])
elseif act == 'reveal' then
  redis.call('SADD', KEYS[3], ARGV[4])
  redis.call('HSETNX', KEYS[9], ARGV[4], ARGV[5])
elseif act == 'deadline' then
  if ARGV[5] == '' then redis.call('HDEL', KEYS[7], ARGV[4]) else redis.call('HSET', KEYS[7], ARGV[4], ARGV[5]) end
elseif act == 'reset' then
  local prefix = ARGV[4] .. '|'
  for _, f in ipairs(redis.call('HKEYS', KEYS[4])) do
    if string.sub(f, 1, #prefix) == prefix then redis.call('HDEL', KEYS[4], f) end
  end
  redis.call('SREM', KEYS[3], ARGV[4])
  redis.call('HDEL', KEYS[5], ARGV[4])
  redis.call('HDEL', KEYS[7], ARGV[4])
  redis.call('HDEL', KEYS[9], ARGV[4])
elseif act == 'join' then
  if ARGV[4] ~= '' and redis.call('SCARD', KEYS[6]) < tonumber(ARGV[5]) then redis.call('SADD', KEYS[6], ARGV[4]) end
  if redis.call('HGET', KEYS[2], 'joined') == '1' then
    redis.call('PEXPIRE', KEYS[6], redis.call('PTTL', KEYS[2]))
    return 1
  end
  redis.call('HSET', KEYS[2], 'joined', '1')
end
if act ~= 'join' then redis.call('HINCRBY', KEYS[2], 'version', 1) end
local ttl = ARGV[2]
if redis.call('HGET', KEYS[2], 'joined') == '1' then ttl = ARGV[9] end
for i = 2, 9 do if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ttl) end end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ttl), ARGV[8])
return 1
