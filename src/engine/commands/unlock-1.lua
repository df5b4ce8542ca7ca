--[[
  Releases a lock only if the caller still holds it (a lock that expired and was taken by another
  holder is left alone).

  KEYS[1] the lock (string)
  ARGV[1] the holder's token

  Output: 1 released; 0 not held by this token
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
