// simple-peer logs through the `debug` package, which the app never switches on: this no-op stands in
// for it (aliased in scripts/build.ts) and keeps about 2.5 KB gzip out of the first load.
module.exports = function debug() {
  return function log() {};
};
