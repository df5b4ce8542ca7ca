--[[
  Removes dispatched outbox entries, each exactly once, wherever they are in the list
  (a second dispatcher of the same entries removes nothing more).

  KEYS[1] outbox (list)
  ARGV    the entries dispatched

  Output: number of entries removed
]]
local removed = 0
for j = 1, #ARGV do removed = removed + redis.call('LREM', KEYS[1], 1, ARGV[j]) end
return removed
