// Preloaded (node -r) into the gateway that scenario 5 reads from: records the SQL that a request carrying an
// `x-bench-capture` header sends through `pg` (text and parameter values, in order), one JSON line per request
// in $BENCH_SQL_CAPTURE. Requests without the header pass through untouched (one header check per request,
// one async-context lookup per query). The bench replays what it records as its `pg`-alone baseline and
// EXPLAINs it, so both follow the route's code, whatever issues the SQL (ORM, query builder, raw pg).
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');
const { appendFileSync } = require('node:fs');
const http = require('node:http');
const { dirname } = require('node:path');

const file = process.env.BENCH_SQL_CAPTURE;
if (file) {
  const als = new AsyncLocalStorage();
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (event, req, res) {
    if (event !== 'request' || !req.headers['x-bench-capture']) return emit.apply(this, arguments);
    const record = { route: `${req.method} ${req.url}`, queries: [] };
    res.once('finish', () => appendFileSync(file, `${JSON.stringify({ ...record, status: res.statusCode })}\n`));
    return als.run(record, () => emit.apply(this, arguments));
  };

  // The `pg` the app itself loads (resolved from its entry script, as its own require would).
  const from = { paths: [dirname(process.argv[1] || process.cwd())] };
  const pg = require(require.resolve('pg', from));
  const { prepareValue } = require(require.resolve('pg/lib/utils', from));
  const serialize = (v) => {
    const p = prepareValue(v);
    return Buffer.isBuffer(p) ? { $base64: p.toString('base64') } : p;
  };
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, values) {
    const record = als.getStore();
    if (record) {
      const text = typeof config === 'string' ? config : config && config.text;
      const params = Array.isArray(values) ? values : (config && config.values) || [];
      if (typeof text === 'string') record.queries.push({ text, values: params.map(serialize) });
    }
    return query.apply(this, arguments);
  };
}
