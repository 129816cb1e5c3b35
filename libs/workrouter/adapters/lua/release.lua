-- Release a task held by an agent, atomically; nothing changes unless that agent holds it.
-- KEYS[1] task holder hash  KEYS[2] agent load hash  KEYS[3] agent held set
-- ARGV[1] agent id  ARGV[2] task id
-- KEYS[4] agent hash and ARGV[3] a time, both optional: the agent's capacity is freed (its task ended), so its
-- idle clock restarts then (freed_at), kept for a router that takes over. A give-back passes neither.
-- Returns 1 when released, 0 otherwise.
local holder = redis.call('HMGET', KEYS[1], 'agent', 'channel')
if holder[1] ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
local channel = holder[2]
if channel then
  local n = tonumber(redis.call('HGET', KEYS[2], channel) or '0')
  if n > 1 then
    redis.call('HINCRBY', KEYS[2], channel, -1)
  else
    -- never below 0, and no zero fields left behind
    redis.call('HDEL', KEYS[2], channel)
  end
end
redis.call('SREM', KEYS[3], ARGV[2])
if KEYS[4] and ARGV[3] then
  redis.call('HSET', KEYS[4], 'freed_at', ARGV[3])
end
return 1
