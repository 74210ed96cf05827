// One scheduler tick in its own process, at the time given as argv[2]: the two-process test
// starts two of these at once against one PostgreSQL database.
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';

const now = new Date(process.argv[2] ?? Date.now());
const app = await createApp(loadConfig(), { logger: silentLogger, now: () => now });
try {
  const result = await app.scheduler.tick(now);
  process.stdout.write(JSON.stringify(result));
} finally {
  await app.close();
}
