// tap.mjs - node:test's events as the plain TAP that prove reads.
//
// Node's own tap reporter writes TAP 13 with YAML blocks, which prove's
// YAML reader cannot always parse (a failure's multi-line message is a parse
// error, and the plan after it is lost), so t/6000-console-browser.t uses
// this one instead: one "ok"/"not ok" line per top-level test (a file that
// fails to load is one too), subtests, the tests' own output and node's
// summary as "#" comments, and the plan at the end.  A failure's message and
// its frames in the test files go to stderr as "#" lines, as Test::More's
// diagnostics do, so that prove shows them without -v.
//   node --test --test-reporter=./t/browser/tap.mjs t/browser/*.test.mjs
import { inspect } from 'node:util';

const comment = (text) => String(text).split('\n').map((l) => `# ${l}\n`).join('');
const diag = (text) => { process.stderr.write(comment(text)); };
const name = (s) => String(s).replace(/\s+/g, ' ').replace(/\\/g, '\\\\').replace(/#/g, '\\#');

// What went wrong, readably: the assertion's message (with its diff), and
// the stack's frames outside node and node_modules.
function failure(err) {
	const e = err?.cause ?? err;
	if (!(e instanceof Error))
		return inspect(e);
	const frames = (e.stack || '').split('\n').filter((l) => /^\s+at /.test(l) &&
		!/node:internal|node_modules|\(node:/.test(l)).slice(0, 5);
	return [e.message, ...frames].join('\n');
}

export default async function* tap(source) {
	let n = 0;
	// A test's own diagnostics (t.diagnostic(), which carry its file) come
	// right after its result: on stderr too when it failed.
	let failed = false;
	for await (const { type, data } of source) {
		switch (type) {
		case 'test:pass':
		case 'test:fail': {
			const ok = type === 'test:pass' ? 'ok' : 'not ok';
			if (data.nesting > 0) {
				yield comment(`${'  '.repeat(data.nesting)}${ok} - ${data.name}`);
				if (type === 'test:fail')
					diag(failure(data.details?.error).replace(/^/gm, '  '.repeat(data.nesting + 1)));
				break;
			}
			const directive = data.skip !== undefined ? ` # SKIP${typeof data.skip === 'string' ? ` ${name(data.skip)}` : ''}`
				: data.todo !== undefined ? ` # TODO${typeof data.todo === 'string' ? ` ${name(data.todo)}` : ''}` : '';
			yield `${ok} ${++n} - ${name(data.name)}${directive}\n`;
			if (type === 'test:fail')
				diag(`Failed test '${data.name}'${data.file ? `\nat ${data.file}` : ''}\n${failure(data.details?.error)}`);
			failed = type === 'test:fail';
			break;
		}
		case 'test:diagnostic':
			if (failed && data.file)
				diag(data.message);
			yield comment(data.message);
			break;
		case 'test:stdout':
			yield comment(String(data.message).replace(/\n$/, ''));
			break;
		case 'test:stderr':
			diag(String(data.message).replace(/\n$/, ''));
			break;
		default:
			break;
		}
	}
	yield `1..${n}\n`;
}
