-- Read only: the entries of some tasks of a domain and whether an agent holds each, in one call.
-- KEYS[1] the domain's entries hash  KEYS[2..n+1] the tasks' holder hashes  ARGV[1..n] the task ids
-- Returns {entries (nil where none), held (1 or 0 each)}.
local entries = redis.call('HMGET', KEYS[1], unpack(ARGV))
local held = {}
for i = 2, #KEYS do
  held[i - 1] = redis.call('EXISTS', KEYS[i])
end
return {entries, held}
