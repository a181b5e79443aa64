/**
 * zod for Roamlab's schemas: zod/mini, the functional API, which a bundler tree-shakes (the CLI
 * bundle keeps only the schemas and checks Roamlab uses; loading zod classic cost ~19 ms at every
 * `roamlab start`).
 *
 * Unlike classic zod, zod/mini loads no error messages by itself, and without them every issue
 * reads "Invalid input". This module loads zod's English ones ("Invalid input: expected string,
 * received number", "Too small: …") and re-exports zod/mini, so every module that builds or runs a
 * schema imports zod from here, never from 'zod/mini' directly:
 *
 *   import * as z from '../../common/zod';
 *
 * Both a namespace import there and `export *` here matter: esbuild and Vite then keep only what
 * is used (`export { z }` of a namespace would keep all of zod/mini). Likewise `en` is a named
 * import, so a bundler keeps that one locale of the index; under tsc's CommonJS output zod/mini
 * loads the whole index anyway.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';
