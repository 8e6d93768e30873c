// Server-side Lua that copies or deletes one SCAN batch of a key prefix, so no key or value crosses the network.

// Copies one SCAN batch server-side: no key or value crosses the network. COPY keeps the
// value's type and its TTL, and without REPLACE a re-run after a crash skips what is there.
export const COPY_BATCH = `
local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2] .. '*', 'COUNT', tonumber(ARGV[4]))
local n = 0
local plen = string.len(ARGV[2])
for _, k in ipairs(r[2]) do
  n = n + redis.call('COPY', k, ARGV[3] .. string.sub(k, plen + 1))
end
return {r[1], n}
`;

export const DELETE_BATCH = `
local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2] .. '*', 'COUNT', tonumber(ARGV[3]))
local n = 0
for _, k in ipairs(r[2]) do
  n = n + redis.call('UNLINK', k)
end
return {r[1], n}
`;
