--[[
  Removes one finished machine for good (docs/engine.md "Retention"): its record, inbox and outbox,
  and its entry in the index of its kind. Only a machine that is still final, finished at or before
  the cutoff and has nothing left to dispatch is removed; the caller has checked that its parent
  (another machine's keys) is gone.

  KEYS[1] machine record (hash)
  KEYS[2] inbox (list)
  KEYS[3] outbox (list)
  KEYS[4] index of the machine's kind (sorted set, global: the one key outside the machine's slot)

  ARGV[1] cutoff: finished (stateSince) at or before this time, in ms since the epoch
  ARGV[2] the machine id (its member in the index)

  Output: 1 removed; 0 kept (gone already, not final, too young, or an outbox not yet dispatched)
]]
local rec = redis.call('HMGET', KEYS[1], 'status', 'stateSince')
local status, since = rec[1], tonumber(rec[2])
if status ~= 'done' and status ~= 'error' and status ~= 'stopped' then return 0 end
if not since or since > tonumber(ARGV[1]) then return 0 end
if redis.call('LLEN', KEYS[3]) > 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[2])
return 1
