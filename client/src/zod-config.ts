/**
 * Imported first by main.tsx, before any schema exists: zod's JIT probes `new Function`
 * when a schema is built, which the app's Content-Security-Policy (script-src 'self', no
 * 'unsafe-eval') refuses and reports as a violation. Jitless zod needs no eval; the
 * client decodes few enough messages that the interpreted path costs nothing visible.
 */
import { z } from 'zod';

z.config({ jitless: true });
