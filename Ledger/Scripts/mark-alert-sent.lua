-- Marks an alert published, so that a later redelivery does not hand it back: its state's first word, pending,
-- becomes sent. MarkAlertSentCall.cs builds the arguments.
-- KEYS: user-month hash. ARGV: alert field, pending state word, sent state word.
local state = redis.call('HGET', KEYS[1], ARGV[1])
if state and string.sub(state, 1, #ARGV[2]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. string.sub(state, #ARGV[2] + 1))
end
return 1
