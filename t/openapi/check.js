// check.js - validates an OpenAPI document against the OpenAPI schema and
// prints its operations, one "METHOD PATH" per line, for t/0200-openapi.t.
//   node check.js docs/openapi.yaml
'use strict';
const SwaggerParser = require('@apidevtools/swagger-parser');

SwaggerParser.validate(process.argv[2])
	.then((api) => {
		const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
		for (const [path, item] of Object.entries(api.paths || {}))
			for (const m of methods)
				if (item[m]) console.log(`${m.toUpperCase()} ${path}`);
	})
	.catch((err) => {
		console.error(`openapi: ${err.message}`);
		process.exit(1);
	});
