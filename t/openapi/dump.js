// dump.js - prints an OpenAPI document with every $ref resolved, as JSON,
// for tests that generate requests from its schemas (t/7020).
//   node dump.js docs/openapi.yaml
'use strict';
const SwaggerParser = require('@apidevtools/swagger-parser');

SwaggerParser.dereference(process.argv[2])
	.then((api) => process.stdout.write(JSON.stringify(api)))
	.catch((err) => {
		console.error(`openapi: ${err.message}`);
		process.exit(1);
	});
