--[[
  Records one failure in a shared backoff, atomically, so failures reported at the same time by
  several workers do not each double the wait: the wait doubles only for a failure at or after the
  end of the current one (a try that was allowed), and a failure during it only counts.

  KEYS[1] the backoff record (hash: until, delayMs, failures, since, lastError, claimedUntil)

  ARGV[1] now (ms since epoch)
  ARGV[2] first wait (ms)
  ARGV[3] longest wait (ms)
  ARGV[4] the error, as text
  ARGV[5] expiry of the record (ms); "0" keeps it until a success clears it

  Output: { until, delayMs, failures, since }
]]
local now = tonumber(ARGV[1])
local initial = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local f = redis.call('HMGET', KEYS[1], 'until', 'delayMs', 'failures', 'since')
local untilMs = tonumber(f[1])
local delay = tonumber(f[2])
local failures = (tonumber(f[3]) or 0) + 1
local since = tonumber(f[4]) or now
if not delay then
  delay = initial
  untilMs = now + delay
elseif now >= (untilMs or 0) then
  delay = math.min(delay * 2, max)
  untilMs = now + delay
end
redis.call('HSET', KEYS[1], 'until', untilMs, 'delayMs', delay, 'failures', failures, 'since', since, 'lastError', ARGV[4])
-- a failed check ends the claim of whoever was checking
redis.call('HDEL', KEYS[1], 'claimedUntil')
local ttl = tonumber(ARGV[5])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return { untilMs, delay, failures, since }
