-- Reserve one unit of an agent's capacity on a channel for a task, atomically.
-- KEYS[1] agent hash (capacity, exclusive, presence)   KEYS[2] agent load hash (channel -> n)
-- KEYS[3] agent held set                               KEYS[4] task holder hash
-- ARGV[1] task id  ARGV[2] channel  ARGV[3] kind  ARGV[4] now  ARGV[5] require ready "1"/"0"  ARGV[6] agent id
-- Returns 'ok' or the refusal: 'unknown_agent', 'taken', 'not_ready', 'no_capacity'.
-- On 'ok' the agent hash's given_at is set to now: the agent's idle clock, kept for a router that takes over.
local agent = redis.call('HMGET', KEYS[1], 'capacity', 'exclusive', 'presence')
if not agent[1] then
  return 'unknown_agent'
end
if redis.call('EXISTS', KEYS[4]) == 1 then
  return 'taken'
end
if ARGV[5] == '1' and agent[3] ~= 'ready' then
  return 'not_ready'
end
local channel = ARGV[2]

-- channel_free(profile, load, channel) from workrouter.domain.routing.model, rule for rule.
local capacity = cjson.decode(agent[1])
local exclusive = {}
for _, ch in ipairs(cjson.decode(agent[2] or '[]')) do
  exclusive[ch] = true
end
local flat = redis.call('HGETALL', KEYS[2])
local load = {}
for i = 1, #flat, 2 do
  load[flat[i]] = tonumber(flat[i + 1])
end
if (load[channel] or 0) >= (tonumber(capacity[channel]) or 0) then
  return 'no_capacity'
end
for ch, n in pairs(load) do
  -- busy on another channel: refused when the wanted channel is exclusive or the busy one is
  if ch ~= channel and n > 0 and (exclusive[channel] or exclusive[ch]) then
    return 'no_capacity'
  end
end

redis.call('HINCRBY', KEYS[2], channel, 1)
redis.call('HSET', KEYS[4], 'agent', ARGV[6], 'channel', channel, 'kind', ARGV[3], 'since', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'given_at', ARGV[4])
return 'ok'
