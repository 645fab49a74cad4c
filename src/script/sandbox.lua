-- tallkv's script sandbox, run once per Lua VM (Redis 7.0 semantics).
-- Arguments: the real globals table, and a table of Rust primitives.
local G, P = ...
local PENDING = P.pending
local where, note, clear_where, is_killed = P.where, P.note, P.clear_where, P.is_killed
local error_value = P.error_value
local tonumber = tonumber
local error, pcall, type, next, rawget, rawset, setmetatable, getmetatable, select, unpack, tostring =
    error, pcall, type, next, rawget, rawset, setmetatable, getmetatable, select, unpack, tostring
local co_create, co_resume, co_yield, co_status = coroutine.create, coroutine.resume, coroutine.yield, coroutine.status

-- Read-only tables: a script sees an empty proxy whose reads go to the real table.
local real_of = {}
local function readonly_newindex()
  error(where() .. 'Attempt to modify a readonly table', 0)
end
local function protect(t)
  local proxy = {}
  real_of[proxy] = t
  setmetatable(proxy, { __index = t, __newindex = readonly_newindex })
  return proxy
end

local function typename(n, ...)
  if select('#', ...) < n then return 'no value' end
  return type((select(n, ...)))
end
local function argerror(n, fname, msg)
  error(where() .. 'bad argument #' .. n .. " to '" .. fname .. "' (" .. msg .. ')', 0)
end
local function check_table(fname, ...)
  if type((...)) ~= 'table' then argerror(1, fname, 'table expected, got ' .. typename(1, ...)) end
end

local function next_(...)
  check_table('next', ...)
  local t, k = ...
  return next(real_of[t] or t, k)
end
local function pairs_(...)
  check_table('pairs', ...)
  return next_, (...), nil
end
local function rawget_(...)
  check_table('rawget', ...)
  local t, k = ...
  return rawget(real_of[t] or t, k)
end
local function rawset_(...)
  check_table('rawset', ...)
  local t, k, v = ...
  if real_of[t] then note() error('Attempt to modify a readonly table', 0) end
  if k == nil then error(where() .. 'table index is nil', 0) end
  return rawset(t, k, v)
end
local function setmetatable_(...)
  check_table('setmetatable', ...)
  local t, mt = ...
  if real_of[t] then note() error('Attempt to modify a readonly table', 0) end
  if mt ~= nil and type(mt) ~= 'table' then argerror(2, 'setmetatable', 'nil or table expected') end
  local old = getmetatable(t)
  if old ~= nil and type(old) == 'table' and rawget(old, '__metatable') ~= nil then
    error(where() .. 'cannot change a protected metatable', 0)
  end
  return setmetatable(t, mt)
end
local string_mt -- the strings' metatable, as scripts see it (read-only, set below)
local function getmetatable_(...)
  local t = ...
  if real_of[t] then return nil end
  if type(t) == 'string' then return string_mt end
  if select('#', ...) == 0 then argerror(1, 'getmetatable', 'value expected') end
  return getmetatable(t)
end

-- pcall and coroutines without C boundaries: a protected call runs in a coroutine, and the
-- "pending" yields of redis.call (a command on another shard) pass through to the caller.
local function protected_finish(co, ok, ...)
  if not ok then
    local e = (...)
    if is_killed() then error(e, 0) end
    clear_where()
    return false, error_value(e)
  end
  if co_status(co) == 'dead' then return true, ... end
  return protected_finish(co, co_resume(co, co_yield(...)))
end
local function pcall_(f, ...)
  if type(f) ~= 'function' then return pcall(f, ...) end
  local made, co = pcall(co_create, f)
  if not made then
    local g = f
    co = co_create(function(...) return g(...) end)
  end
  return protected_finish(co, co_resume(co, ...))
end
local function xpcall_finish(h, ok, ...)
  if ok then return true, ... end
  return false, h((...))
end
local function xpcall_(f, h)
  return xpcall_finish(h, pcall_(f))
end

-- run_state[1]: how deep in coroutine.resume the script is (yield_ refuses at depth 0); the
-- driver sets it to 0 before each run.
local run_state = { 0 }
local function resume_finish(co, ok, ...)
  if ok and co_status(co) == 'suspended' and select('#', ...) == 1 and (...) == PENDING then
    return resume_finish(co, co_resume(co, co_yield(PENDING)))
  end
  run_state[1] = run_state[1] - 1
  if not ok then
    if is_killed() then error((...), 0) end
    return false, error_value((...))
  end
  return ok, ...
end
local function resume_(co, ...)
  run_state[1] = run_state[1] + 1
  return resume_finish(co, co_resume(co, ...))
end
local function pack(...) return { n = select('#', ...), ... } end
local function wrap_(f)
  local co = co_create(f)
  return function(...)
    local r = pack(resume_(co, ...))
    if r[1] then return unpack(r, 2, r.n) end
    local e = r[2]
    if type(e) == 'string' or type(e) == 'number' then error(e, 2) end
    error(e, 0)
  end
end
local function yield_(...)
  if run_state[1] <= 0 then
    note()
    error('attempt to yield across metamethod/C-call boundary', 0)
  end
  return co_yield(...)
end

local coroutine_ = {
  create = co_create, resume = resume_, running = coroutine.running, status = co_status,
  wrap = wrap_, yield = yield_,
}

local function copy(t)
  local m = {}
  for k, v in next, t do m[k] = v end
  return m
end

-- redis.*
local raw_call, bad_call, finish, locate = P.call, P.bad_call, P.finish, P.locate
local SLOW, FINISH = P.slow, P.finish_mark
local function err_table(text) return { err = P.error_text(text) } end
local redis = {}
-- raw_call answers (raise, value, status); a status reply comes as its text with status
-- set. In place of raise it may answer a marker: SLOW when it ran nothing (bad_call makes
-- the error), FINISH when finish must convert the reply, or PENDING when the reply must be
-- waited for: yielding it suspends the script until the driver (Vm::drive) resumes it
-- with the reply (after locate noted the line of the call, for an error raised there).
redis.call = function(...)
  local raise, v, status = raw_call(true, ...)
  if raise == FINISH then raise, v, status = finish()
  elseif raise == SLOW then raise, v, status = bad_call(true, ...)
  elseif raise == PENDING then locate() raise, v, status = co_yield(PENDING) end
  if status then return { ok = v } end
  if raise then error(v, 0) end
  return v
end
redis.pcall = function(...)
  local raise, v, status = raw_call(false, ...)
  if raise == FINISH then raise, v, status = finish()
  elseif raise == SLOW then raise, v, status = bad_call(false, ...)
  -- Resumed with raise set only when the script was killed meanwhile.
  elseif raise == PENDING then raise, v, status = co_yield(PENDING) if raise then error(v, 0) end end
  if status then return { ok = v } end
  return v
end
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then return err_table('wrong number or type of arguments') end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return err_table(e)
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return err_table('wrong number or type of arguments') end
  return { ok = s }
end
local function raise(text)
  note()
  error(err_table(text), 0)
end
redis.sha1hex = function(...)
  if select('#', ...) ~= 1 then note() error('wrong number of arguments', 0) end
  local s = ...
  if type(s) == 'number' then s = tostring(s) end
  if type(s) ~= 'string' then s = '' end
  return P.sha1hex(s)
end
redis.log = function(...)
  local n = select('#', ...)
  if n < 2 then raise('redis.log() requires two arguments or more.') end
  local level = ...
  if type(level) ~= 'number' and not (type(level) == 'string' and tonumber(level)) then
    raise('First argument must be a number')
  end
  level = tonumber(level)
  if level < 0 or level > 3 then raise('Invalid debug level.') end
  P.log(...)
end
redis.setresp = function(...)
  if select('#', ...) ~= 1 then raise('redis.setresp() requires one argument.') end
  local v = tonumber((...))
  if v ~= 2 and v ~= 3 then raise('RESP version must be 2 or 3.') end
  P.setresp(v)
end
redis.set_repl = function(...)
  if select('#', ...) ~= 1 then raise('redis.set_repl() requires two arguments.') end
  local flags = tonumber((...)) or 0
  if flags ~= 0 and flags ~= 1 and flags ~= 2 and flags ~= 3 then
    raise('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
  end
  P.set_repl(flags)
end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.acl_check_cmd = function(...)
  local raise_it, v = P.acl_check_cmd(...)
  if raise_it then error(v, 0) end
  return v
end
redis.REDIS_VERSION = P.version
redis.REDIS_VERSION_NUM = P.version_num
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3

-- The globals a script sees (Redis 7.0's set).
local content = {}
for _, name in next, {
  'assert', 'collectgarbage', 'gcinfo', 'ipairs', 'load', 'loadstring', 'rawequal',
  'select', 'tonumber', 'tostring', 'type', 'unpack', 'error', '_VERSION',
} do
  content[name] = G[name]
end
content.next, content.pairs, content.rawget, content.rawset = next_, pairs_, rawget_, rawset_
content.setmetatable, content.getmetatable = setmetatable_, getmetatable_
content.pcall, content.xpcall = pcall_, xpcall_
content.__redis__err__handler = function(err)
  if type(err) ~= 'table' then err = { err = 'ERR ' .. tostring(err) } end
  return err
end

local math_ = copy(G.math)
math_.random, math_.randomseed = P.libs.math.random, P.libs.math.randomseed

content.string = protect(G.string)
-- Strings index the read-only string table too, and their metatable is read-only, so no
-- script can change the string library for the scripts after it.
getmetatable('').__index = content.string
string_mt = protect(getmetatable(''))
content.table = protect(G.table)
content.math = protect(math_)
content.coroutine = protect(coroutine_)
content.redis = protect(redis)
local cjson = copy(P.libs.cjson)
cjson.new = function() local m = P.cjson_new() m.new = cjson.new return m end
content.cjson = protect(cjson)
for name, lib in next, P.libs do
  if name ~= 'math' and name ~= 'cjson' then content[name] = protect(copy(lib)) end
end

-- The globals table itself becomes a read-only proxy: unknown names raise Redis's error.
for k in next, content do G[k] = nil end
local names = {}
for k in next, G do names[#names + 1] = k end
for _, k in next, names do rawset(G, k, nil) end
setmetatable(content, {
  __index = function(_, k)
    error(where() .. "Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 0)
  end,
})
real_of[G] = content
content._G = G
setmetatable(G, { __index = content, __newindex = readonly_newindex })

-- Before each run the driver sets run_state[1] to 0 and content.KEYS/ARGV (src/script/raw.rs),
-- then runs the script's function in a thread of its own (reusing finished ones) and
-- resumes it after each "pending" yield.
return content, run_state
