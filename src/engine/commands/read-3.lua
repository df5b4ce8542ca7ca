--[[
  Reads a machine record and the head of its inbox in one atomic step, so the events
  read always belong to the version read (the commit's compare-and-set relies on it).
  A full read (no cached snapshot: the last commit may not be this process's) also returns
  the outbox, whose leftovers the caller dispatches first: no extra round trip for them.

  KEYS[1] machine record (hash)
  KEYS[2] inbox (list)
  KEYS[3] outbox (list)
  ARGV[1] max inbox entries to read
  ARGV[2] "1" to leave out the snapshot field and the outbox (the caller has this version cached)

  Output: { {field, value, ...}, {entry, ...}, {outbox entry, ...} }
]]
local rec
local outbox = {}
if ARGV[2] == '1' then
  local names = {'kind', 'id', 'parent', 'parentChildId', 'parentKey', 'version', 'status', 'value', 'children', 'timers', 'spawned', 'stateSince', 'defVersion', 'createdAt'}
  local vals = redis.call('HMGET', KEYS[1], unpack(names))
  rec = {}
  for j = 1, #names do
    if vals[j] then
      rec[#rec + 1] = names[j]
      rec[#rec + 1] = vals[j]
    end
  end
else
  rec = redis.call('HGETALL', KEYS[1])
  outbox = redis.call('LRANGE', KEYS[3], 0, -1)
end
local events = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)
return { rec, events, outbox }
