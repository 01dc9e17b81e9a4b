// simple-peer names its connections and data channels with random hex: crypto.getRandomValues
// without Node's Buffer (aliased in scripts/build.ts).
module.exports = function randomBytes(size) {
  const bytes = crypto.getRandomValues(new Uint8Array(size));
  return { toString: () => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('') };
};
