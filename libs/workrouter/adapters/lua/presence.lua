-- Set an agent's presence; a change bumps the version and resets `since`.
-- KEYS[1] agent hash  KEYS[2] heartbeat sorted set (agents not offline, scored by last heartbeat)
-- ARGV[1] presence  ARGV[2] "1" when a reason is given  ARGV[3] reason  ARGV[4] now  ARGV[5] agent id
-- Returns the presence version (unchanged when presence and reason are already the ones given).
local current = redis.call('HMGET', KEYS[1], 'presence', 'reason', 'version')
local version = tonumber(current[3] or '0')
local reason = false
if ARGV[2] == '1' then
  reason = ARGV[3]
end
if current[1] == ARGV[1] and current[2] == reason then
  return version
end
version = version + 1
redis.call('HSET', KEYS[1], 'presence', ARGV[1], 'since', ARGV[4], 'version', tostring(version))
if reason then
  redis.call('HSET', KEYS[1], 'reason', reason)
else
  redis.call('HDEL', KEYS[1], 'reason')
end
if ARGV[1] == 'offline' then
  redis.call('ZREM', KEYS[2], ARGV[5])
else
  -- coming online counts as a heartbeat; a presence change while online keeps the last one
  redis.call('ZADD', KEYS[2], 'NX', ARGV[4], ARGV[5])
end
return version
