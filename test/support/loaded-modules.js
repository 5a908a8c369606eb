// Preloaded into an app by a test (NODE_OPTIONS=--require …): on SIGUSR2, writes every module the process has
// loaded so far (CommonJS require.cache) to $LOADED_MODULES_FILE, so a test can tell which libraries it loads.
const { renameSync, writeFileSync } = require('node:fs');

process.on('SIGUSR2', () => {
  const file = process.env.LOADED_MODULES_FILE;
  writeFileSync(`${file}.tmp`, JSON.stringify(Object.keys(require.cache)));
  renameSync(`${file}.tmp`, file);
});
