// client.mjs - an agent's session with memox's MCP endpoint, through the official SDK.
//
// t/4500-memox-mcp.t runs it against the harness's nginx and checks what it
// prints: one JSON object holding every step's outcome (an SDK result, or
// {thrown} with the error's message), so that the assertions live in the
// .t beside its raw HTTP checks.  The steps are those an agent takes:
// connect (initialize, notifications/initialized, and the SDK's GET for a
// server stream, which a stateless server answers 405), list the tools,
// call each one, and the same calls with a key of another tenant and with
// a read-only key of the first.
//   MCP_URL=http://127.0.0.1:PORT/api/v1/memox/mcp MCP_KEY=agk_... \
//   MCP_OTHER_KEY=agk_... MCP_READ_KEY=agk_... node t/mcp/client.mjs
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const url = new URL(process.env.MCP_URL);
const scope = { namespace: 'mcp', externalUserId: 'agent-user-1' };

async function connect(key) {
	const transport = new StreamableHTTPClientTransport(url, {
		requestInit: { headers: { Authorization: `Bearer ${key}` } },
	});
	const client = new Client({ name: 'aiget-t4500', version: '1.0.0' });
	await client.connect(transport);
	return { client, transport };
}

// A step's outcome: what the SDK returned, or what it threw.
async function step(fn) {
	try {
		return await fn();
	} catch (e) {
		return { thrown: String(e?.message ?? e), code: e?.code };
	}
}

const out = {};
const a = await connect(process.env.MCP_KEY);
out.server = a.client.getServerVersion();
out.capabilities = a.client.getServerCapabilities();
out.instructions = a.client.getInstructions();
out.protocolVersion = a.transport.protocolVersion ?? null;
out.sessionId = a.transport.sessionId ?? null;
out.ping = await step(() => a.client.ping());
out.tools = await step(() => a.client.listTools());
const call = (c, name, args) => step(() => c.callTool({ name, arguments: args }));

out.add = await call(a.client, 'memory_add', { ...scope, content: 'The agent parked the blue bicycle by the lighthouse',
	metadata: { via: 'mcp' } });
const id = out.add.structuredContent?.id;
out.addAgain = await call(a.client, 'memory_add', { ...scope, content: 'The agent parked the blue bicycle by the lighthouse' });
out.addNoContent = await call(a.client, 'memory_add', { ...scope });
out.addTenant = await call(a.client, 'memory_add', { ...scope, content: 'x', tenantId: '00000000-0000-4000-8000-000000000000' });
out.noScope = await call(a.client, 'memory_list', { namespace: 'mcp' });
// Ready once the worker has embedded it.
for (let i = 0; i < 100; i++) {
	out.get = await call(a.client, 'memory_get', { id, ...scope });
	if (out.get.structuredContent?.status !== 'pending')
		break;
	await new Promise((r) => setTimeout(r, 200));
}
out.getOtherUser = await call(a.client, 'memory_get', { id, namespace: 'mcp', externalUserId: 'agent-user-2' });
out.getBadId = await call(a.client, 'memory_get', { id: 'not-a-uuid', ...scope });
out.list = await call(a.client, 'memory_list', { ...scope, limit: 10 });
out.listBadLimit = await call(a.client, 'memory_list', { ...scope, limit: 0 });
out.search = await call(a.client, 'memory_search', { ...scope, query: 'where is the blue bicycle?', topK: 3 });
out.searchKeyword = await call(a.client, 'memory_search', { ...scope, query: 'bicycle', mode: 'keyword' });
out.searchHybrid = await call(a.client, 'memory_search', { ...scope, query: 'blue bicycle', mode: 'hybrid', rrfK: 10 });
out.searchBadMode = await call(a.client, 'memory_search', { ...scope, query: 'bicycle', mode: 'fuzzy' });
out.searchNoQuery = await call(a.client, 'memory_search', { ...scope });
out.unknownTool = await call(a.client, 'memory_nope', { ...scope });

const b = await connect(process.env.MCP_OTHER_KEY);
out.other = {
	get: await call(b.client, 'memory_get', { id, ...scope }),
	list: await call(b.client, 'memory_list', { ...scope }),
	search: await call(b.client, 'memory_search', { ...scope, query: 'where is the blue bicycle?' }),
	searchHybrid: await call(b.client, 'memory_search', { ...scope, query: 'blue bicycle', mode: 'hybrid' }),
	update: await call(b.client, 'memory_update', { id, ...scope, content: 'stolen' }),
	delete: await call(b.client, 'memory_delete', { id, ...scope }),
};
await b.client.close();

const r = await connect(process.env.MCP_READ_KEY);
out.readOnly = {
	add: await call(r.client, 'memory_add', { ...scope, content: 'a read-only key writes nothing' }),
	list: await call(r.client, 'memory_list', { ...scope }),
	delete: await call(r.client, 'memory_delete', { id, ...scope }),
};
await r.client.close();

out.update = await call(a.client, 'memory_update', { id, ...scope, content: 'The agent moved the blue bicycle to the harbour' });
out.updateNothing = await call(a.client, 'memory_update', { id, ...scope });
out.afterUpdate = await call(a.client, 'memory_get', { id, ...scope });
out.delete = await call(a.client, 'memory_delete', { id, ...scope });
out.afterDelete = await call(a.client, 'memory_get', { id, ...scope });
await a.client.close();
out.id = id;
process.stdout.write(JSON.stringify(out) + '\n');
