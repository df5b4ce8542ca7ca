--[[
  Commits one batch of transitions of one machine, atomically.

  KEYS[1] machine record (hash)
  KEYS[2] inbox (list): the first ARGV[2] entries were applied by this batch
  KEYS[3] outbox (list): effects, timers, child starts and notifications to dispatch
  KEYS[4] transition log (stream)
  KEYS[5] durable numbers (hash: field = JSON [name, labels], value = a number)

  ARGV[1] expected version ("0" = the record must not exist yet)
  ARGV[2] number of inbox entries consumed
  ARGV[3] transition log max length (approximate)
  ARGV[4] number of hash field/value pairs that follow (n)
  ARGV[5 .. 4+2n] field, value pairs (must include "version")
  then: count of hash fields to delete, the fields; count of outbox entries, the entries;
  count of log entries, the entries (JSON); count of stat changes, then per change its op ("add"
  or "set"), its field and its value

  Output: { 1, events left in the inbox } committed; { 0, 0 } version mismatch (another commit
  won: re-read and retry). The drain goes on while events are left, which is what lets a send
  schedule a drain only when it finds the inbox empty.
]]
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '0' then
  if current then return { 0, 0 } end
elseif current ~= ARGV[1] then
  return { 0, 0 }
end

local consumed = tonumber(ARGV[2])
if consumed > 0 then redis.call('LTRIM', KEYS[2], consumed, -1) end

local i = 4
local nfields = tonumber(ARGV[i])
local fields = {}
for j = 1, nfields * 2 do fields[j] = ARGV[i + j] end
if nfields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
i = i + nfields * 2 + 1

local ndel = tonumber(ARGV[i])
for j = 1, ndel do redis.call('HDEL', KEYS[1], ARGV[i + j]) end
i = i + ndel + 1

local nout = tonumber(ARGV[i])
for j = 1, nout do redis.call('RPUSH', KEYS[3], ARGV[i + j]) end
i = i + nout + 1

local nlog = tonumber(ARGV[i])
for j = 1, nlog do
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[i + j])
end
i = i + nlog + 1

local nstats = tonumber(ARGV[i])
for j = 0, nstats - 1 do
  local op, field, value = ARGV[i + 1 + j * 3], ARGV[i + 2 + j * 3], ARGV[i + 3 + j * 3]
  if op == 'add' then
    redis.call('HINCRBYFLOAT', KEYS[5], field, value)
  else
    redis.call('HSET', KEYS[5], field, value)
  end
end
return { 1, redis.call('LLEN', KEYS[2]) }
