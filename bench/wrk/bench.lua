-- bench.lua - the one wrk script of `make bench`: builds each request and
-- prints the run's summary as one JSON line.
--
-- wrk runs the URL's path with the -H headers; this script's arguments
-- (after --) add, as key=value:
--   method=POST     the method (GET by default)
--   body=FILE       one body, sent with every request
--   pool=FILE       one body a line: thread i of n sends lines i, i+n, i+2n...
--                   so no line is sent twice in a run (refresh tokens are
--                   spent by their first use) ...
--   wrap=1          ... unless lines may be sent again (login, search): then
--                   each thread starts over at the end of its share
--   threads=N       wrk's -t, to split the pool
--   xff=1           every request its own X-Forwarded-For (2001:db8::/32),
--                   so per-address abuse limits (login, refresh) never trip:
--                   nginx takes it from loopback as from the production proxy
-- A pool without wrap that runs dry sends an invalid body instead, which the
-- responder refuses (4xx, counted as errors), and the summary says how many.
--
-- done() prints `BENCH-JSON {...}` with requests, duration, the errors wrk
-- counts (socket connect/read/write/timeout, and status: answers >= 400)
-- and the latency percentiles in microseconds.

local threads, nthread = {}, 0

function setup(thread)
	nthread = nthread + 1
	thread:set("tid", nthread)
	table.insert(threads, thread)
end

local method, body, pool, wrap, xff, me, step, pos, serial = "GET", nil, nil, false, false, 1, 1, 1, 0
exhausted = 0

local function slurp(path)
	local f = assert(io.open(path, "r"))
	local s = f:read("*a")
	f:close()
	return s
end

function init(args)
	local opt = {}
	for _, a in ipairs(args) do
		local k, v = a:match("^(%w+)=(.*)$")
		if k then opt[k] = v end
	end
	method = opt.method or "GET"
	if opt.body then body = slurp(opt.body) end
	wrap = opt.wrap == "1"
	xff = opt.xff == "1"
	step = tonumber(opt.threads or "1")
	me = tonumber(tid) or 1    -- the global setup() gave this thread
	if opt.pool then
		pool = {}
		for line in slurp(opt.pool):gmatch("[^\n]+") do table.insert(pool, line) end
		assert(#pool >= step, "the pool has fewer lines than threads")
	end
	pos = me
end

function request()
	local headers = wrk.headers
	if xff then
		serial = serial + 1
		headers = {}
		for k, v in pairs(wrk.headers) do headers[k] = v end
		headers["X-Forwarded-For"] = string.format("2001:db8:%x::%x:%x", me, math.floor(serial / 65536), serial % 65536)
	end
	local b = body
	if pool then
		if pos > #pool then
			if wrap then
				pos = me
			else
				exhausted = exhausted + 1
				b = "{}"
			end
		end
		if pos <= #pool then
			b = pool[pos]
			pos = pos + step
		end
	end
	return wrk.format(method, nil, headers, b)
end

function done(summary, latency, requests)
	local e = summary.errors
	local dry = 0
	for _, t in ipairs(threads) do dry = dry + (tonumber(t:get("exhausted")) or 0) end
	io.write(string.format(
		'BENCH-JSON {"requests":%d,"durationUs":%d,"bytes":%d,' ..
		'"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
		'"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"poolExhausted":%d}\n',
		summary.requests, summary.duration, summary.bytes,
		e.connect, e.read, e.write, e.timeout, e.status,
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, dry))
end
