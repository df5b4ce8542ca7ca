--[[
  Claims the next try of a backing-off key for one caller: only one of the processes that find the
  wait over tries (checks) at a time; the others keep waiting.

  KEYS[1] the backoff record (hash)

  ARGV[1] now (ms since epoch)
  ARGV[2] how long the claim holds (ms): the longest a try takes; a claimant that dies frees it then

  Output: 0 claimed; -1 no backoff is recorded (nothing to wait for); otherwise the time (ms since
  epoch) to look again: the end of the wait, or of another caller's claim
]]
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'until', 'claimedUntil')
local untilMs = tonumber(f[1])
if not untilMs then return -1 end
if now < untilMs then return untilMs end
local claimed = tonumber(f[2]) or 0
if now < claimed then return claimed end
redis.call('HSET', KEYS[1], 'claimedUntil', now + tonumber(ARGV[2]))
return 0
