-- Change the kind of a hold (offer -> assign when accepted) only if the agent holds the task.
-- KEYS[1] task holder hash  ARGV[1] agent id  ARGV[2] new kind
-- Returns 1 when converted, 0 otherwise.
if redis.call('HGET', KEYS[1], 'agent') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'kind', ARGV[2])
return 1
