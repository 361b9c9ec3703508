-- Marks an alert published, so that a later redelivery does not hand it back: its state's first word, pending,
-- becomes sent. Its keys and arguments are named by MarkKey and MarkArg (Ledger/Budgets/MarkAlertSentCall.cs).
local month, field = KEYS[MarkKey.UserMonth], ARGV[MarkArg.AlertField]
local pending, sent = ARGV[MarkArg.PendingWord], ARGV[MarkArg.SentWord]
local state = redis.call('HGET', month, field)
if state and string.sub(state, 1, #pending) == pending then
  redis.call('HSET', month, field, sent .. string.sub(state, #pending + 1))
end
return 1
