-- Take tokens from a token bucket (the arithmetic of workrouter.domain.rate_limit.take).
-- KEYS[1] bucket hash (fields tokens, at)
-- ARGV[1] rate per second  ARGV[2] burst  ARGV[3] now (epoch seconds)  ARGV[4] cost
-- Returns the seconds to wait, as a string ("0" when taken).
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if stored[1] then
  local elapsed = now - tonumber(stored[2])
  if elapsed < 0 then
    elapsed = 0
  end
  tokens = math.min(burst, tonumber(stored[1]) + elapsed * rate)
end
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
