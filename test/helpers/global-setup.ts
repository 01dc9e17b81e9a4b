// Builds the client once before any test, so browser tests load what `npm start` would serve.
import { buildClient } from '../../scripts/build.js';

export default async function setup(): Promise<void> {
  await buildClient({ outDir: 'dist/client' });
}
